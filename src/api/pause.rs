//! The rules of a pause that more than one side needs: the name of the
//! pause a parent records while it waits on a child play, and whether an
//! answer fits a pause's schema.

use serde_json::Value;

/// What the name of a child-pause starts with; the SDK writes the same.
const CHILD_PAUSE_PREFIX: &str = "child_play:";

/// The name of the pause a parent records while the spawned child `sid`
/// it waits on is paused; the engine answers it when the child ends.
pub fn child_pause_name(sid: &str) -> String {
    format!("{CHILD_PAUSE_PREFIX}{sid}")
}

/// The child play a pause waits on, when it is a child-pause.
pub fn child_of_pause(name: &str) -> Option<&str> {
    name.strip_prefix(CHILD_PAUSE_PREFIX)
}

/// Every way `payload` breaks `schema`, one line each; empty when it fits.
/// The server refuses such an answer (`SCHEMA_VIOLATION`); the prompts ask
/// again before sending it.
pub fn violations(schema: &Value, payload: &Value) -> Vec<String> {
    if schema.is_null() {
        return Vec::new();
    }
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => return vec![format!("the pause's own schema is invalid: {e}")],
    };
    validator
        .iter_errors(payload)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("at {path}: {e}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_child_pause_names_its_child_and_nothing_else_does() {
        assert_eq!(child_pause_name("p1"), "child_play:p1");
        assert_eq!(child_of_pause(&child_pause_name("p1")), Some("p1"));
        assert_eq!(child_of_pause("approve"), None);
    }

    #[test]
    fn names_each_violation() {
        assert!(violations(&json!({"type": "integer"}), &json!(3)).is_empty());
        assert_eq!(
            violations(&json!({"type": "integer"}), &json!("x")).len(),
            1
        );
        let enum_schema = json!({"enum": ["a", "b"]});
        assert!(violations(&enum_schema, &json!("c"))[0].contains("\"c\""));
        let object = json!({"type": "object", "required": ["tx"],
                            "properties": {"n": {"type": "integer"}}});
        assert_eq!(violations(&object, &json!({"n": "x"})).len(), 2);
    }
}
