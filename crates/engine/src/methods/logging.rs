//! `logging/setLevel`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::dispatch::Ctx;
use crate::jsonrpc::{RpcError, decode_params};
use crate::session::LogLevel;

#[derive(Deserialize)]
struct SetLevel {
    level: LogLevel,
}

pub fn set_level(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: SetLevel = decode_params("logging/setLevel", params)?;
    ctx.session.log_level = p.level;
    Ok(json!({}))
}

/// Sends `notifications/message` if the session logs at `level`.
pub fn log(ctx: &mut Ctx<'_>, level: LogLevel, logger: &str, data: Value) {
    if ctx.session.logs_at(level) {
        ctx.out.notify(
            "notifications/message",
            &json!({"level": level, "logger": logger, "data": data}),
        );
    }
}
