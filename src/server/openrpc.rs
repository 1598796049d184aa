//! The OpenRPC document that `rpc.discover` returns, rendered from
//! [`crate::api::METHODS`], the one list of methods.

use serde_json::{Value, json};

use crate::api::{METHODS, status};
use crate::manifest::Manifest;

fn schemas() -> Value {
    let ts = json!({"type": "string", "format": "date-time"});
    json!({
        "Workflow": {"type": "object", "properties": {
            "sid": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
            "current_version_sid": {"type": "string"},
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/FlowField"}},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/FlowField"}},
            "created_at": ts, "updated_at": ts, "source_path": {"type": "string"}}},
        "FlowField": {"type": "object", "properties": {
            "name": {"type": "string"},
            "type": {"enum": ["str", "int", "float", "bool", "list", "dict", "any"]},
            "required": {"type": "boolean"}, "default": {}}},
        "Play": {"type": "object", "properties": {
            "sid": {"type": "string"}, "name": {"type": "string"}, "workflow_sid": {"type": "string"},
            "workflow_version_sid": {"type": "string"}, "status": status(),
            "input_data": {}, "output_data": {}, "error": {"type": ["string", "null"]},
            "parent_play_sid": {"type": ["string", "null"]}, "parent_span_id": {"type": ["string", "null"]},
            "created_at": ts, "started_at": {"type": ["string", "null"]}, "ended_at": {"type": ["string", "null"]},
            "runs": {"type": "integer"},
            "pending_resumes": {"type": "array", "items": {"$ref": "#/components/schemas/ResumeRequest"}},
            "received_resumes": {"type": "object"}, "step_outputs": {"type": "object"},
            "prefill_resumes": {"type": "object"}, "total_cost_usd": {"type": "number"}}},
        "Span": {"type": "object", "properties": {
            "id": {"type": "string"}, "play_sid": {"type": "string"}, "run": {"type": "integer"},
            "parent_id": {"type": ["string", "null"]}, "name": {"type": "string"},
            "kind": {"enum": ["flow_root", "step", "rpc", "subflow", "other"]},
            "status": {"enum": ["running", "success", "failed", "replayed", "paused", "cancelled"]},
            "started_at": ts, "ended_at": {"type": ["string", "null"]}, "duration_ms": {"type": ["number", "null"]},
            "inputs": {}, "output": {}, "error": {"type": ["string", "null"]},
            "source_file": {"type": ["string", "null"]}, "source_line": {"type": ["integer", "null"]},
            "step_key": {"type": ["string", "null"]}, "child_play_sid": {"type": ["string", "null"]},
            "cost_usd": {"type": "number"}}},
        "ResumeRequest": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "schema": {}, "ui": {},
            "asked_at_span_id": {"type": ["string", "null"]}, "asked_at": ts,
            "payload": {}, "resumed_at": {"type": ["string", "null"]}}},
        "Schedule": {"type": "object", "properties": {
            "name": {"type": "string"}, "workflow_sid": {"type": "string"},
            "cron": {"type": ["string", "null"]}, "every_s": {"type": ["integer", "null"]},
            "tz": {"type": ["string", "null"]}, "input_data": {}, "prefill_resumes": {"type": "object"},
            "overlap": {"enum": ["skip", "queue", "allow"]}, "catchup": {"enum": ["latest", "all", "none"]},
            "paused": {"type": "boolean"}, "next_fire_at": {"type": ["string", "null"]},
            "last_fire_at": {"type": ["string", "null"]}, "last_play_sid": {"type": ["string", "null"]},
            "created_at": ts}}
    })
}

pub fn document(manifest: &Manifest) -> Value {
    let methods: Vec<Value> = METHODS
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "summary": m.summary,
                "paramStructure": "by-name",
                "params": m.params.iter().map(|(name, required, schema)| json!({
                    "name": name, "required": required, "schema": schema(),
                })).collect::<Vec<_>>(),
                "result": {"name": "result", "schema": (m.result)()},
                "x-internal": m.internal,
            })
        })
        .collect();
    json!({
        "openrpc": "1.3.2",
        "info": {"title": "LogicService", "version": manifest.version, "description": manifest.description},
        "methods": methods,
        "components": {"schemas": schemas()},
    })
}
