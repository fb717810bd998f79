//! API keys: random, shown once, stored as their SHA-256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The prefix every key starts with, so a leaked one is recognisable.
pub const KEY_PREFIX: &str = "mcpp_";

/// A new random key and its id; the key is shown once, the hash stored.
pub fn new_key() -> (String, String) {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    (id, key)
}

/// The key's SHA-256, hex: what the key store keeps and looks up.
pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hash_stably() {
        let (id1, k1) = new_key();
        let (id2, k2) = new_key();
        assert_ne!(k1, k2);
        assert_ne!(id1, id2);
        assert!(k1.starts_with(KEY_PREFIX) && k1.len() > 40, "{k1}");
        assert_eq!(hash(&k1), hash(&k1));
        assert_ne!(hash(&k1), hash(&k2));
        assert_eq!(hash(&k1).len(), 64);
    }
}
