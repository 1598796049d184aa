//! `hero_logic rpc METHOD [PARAMS_JSON]`: any method, raw JSON out.

use serde_json::Value;

use super::Ctx;
use super::render::{UserError, print_json};

pub fn run(ctx: &Ctx, method: &str, params: Option<&str>) -> anyhow::Result<i32> {
    let params: Value = match params {
        None => Value::Object(Default::default()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            UserError::usage(format!("PARAMS_JSON is not valid JSON: {e}"))
                .hint(r#"params are an object by name, e.g. '{"play_sid": "…"}'"#)
        })?,
    };
    if !params.is_object() {
        return Err(
            UserError::usage("PARAMS_JSON must be a JSON object (params are by name)").into(),
        );
    }
    let result = ctx
        .client()?
        .call_value(method, params)
        .map_err(|e| super::render::client_error(e, &ctx.paths))?;
    print_json(&result);
    Ok(0)
}
