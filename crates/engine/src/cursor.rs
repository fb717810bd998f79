//! Opaque pagination cursors. A cursor names the last id of the previous page
//! (keyset pagination), so pages stay stable while others create or delete prompts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::PromptId;

const PREFIX: &str = "after:";

pub fn encode(last_id: &PromptId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{last_id}"))
}

/// `None` when the cursor was not made by `encode`.
pub fn decode(cursor: &str) -> Option<PromptId> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    PromptId::parse(text.strip_prefix(PREFIX)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_forgeries() {
        let id = PromptId::parse("sql-helper").unwrap();
        assert_eq!(decode(&encode(&id)), Some(id));
        assert_eq!(decode("not-a-cursor"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("after:Bad Id")), None);
        assert_eq!(decode(""), None);
    }
}
