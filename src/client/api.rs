//! One typed call per RPC method, in model types.

use serde_json::{Value, json};

use super::{Client, Result};
use crate::api::{SavedWorkflow, ScheduleSave, WorkflowDetail};
use crate::model::{
    HttpKey, JsonMap, LogLine, NewHttpKey, Play, PlayStatus, ResumeAck, ResumeRequest, Schedule,
    SignalEvent, Span, Worker, Workflow,
};

/// What `play_start` sends.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub workflow: String,
    pub input_data: Value,
    pub name: Option<String>,
    pub prefill_resumes: JsonMap,
    pub timeout_s: Option<f64>,
    /// The folder every run of the play runs in: the caller's own.
    pub working_dir: Option<std::path::PathBuf>,
    /// A second start with the same key gets the first play back.
    pub idempotency_key: Option<String>,
}

/// What `workflow_save` sends; the server names the workflow when `name`
/// is absent (`@flow(name=...)` on main, else the file's stem).
#[derive(Debug, Clone, Default)]
pub struct SaveRequest<'a> {
    pub name: Option<&'a str>,
    pub source: &'a str,
    pub file_name: Option<&'a str>,
    pub source_path: Option<&'a str>,
    pub replace: bool,
}

impl Client {
    pub fn info(&mut self) -> Result<Value> {
        self.call_value("info", json!({}))
    }

    pub fn workflow_save(&mut self, save: &SaveRequest<'_>) -> Result<SavedWorkflow> {
        let mut params = json!({"source": save.source, "file_name": save.file_name});
        if let Some(name) = save.name {
            params["name"] = json!(name);
        }
        if let Some(path) = save.source_path {
            params["source_path"] = json!(path);
        }
        if save.replace {
            params["replace"] = json!(true);
        }
        self.call("workflow_save", params)
    }

    pub fn workflow_get(&mut self, sid_or_name: &str) -> Result<WorkflowDetail> {
        self.call("workflow_get", json!({ "sid_or_name": sid_or_name }))
    }

    pub fn workflow_list(&mut self) -> Result<Vec<Workflow>> {
        self.call("workflow_list", json!({}))
    }

    pub fn play_start(&mut self, request: &StartRequest) -> Result<Play> {
        let mut params = json!({
            "workflow_sid": request.workflow,
            "input_data": request.input_data,
        });
        if let Some(name) = &request.name {
            params["name"] = json!(name);
        }
        if !request.prefill_resumes.is_empty() {
            params["prefill_resumes"] = json!(request.prefill_resumes);
        }
        if let Some(t) = request.timeout_s {
            params["timeout_s"] = json!(t);
        }
        if let Some(dir) = &request.working_dir {
            params["working_dir"] = json!(dir);
        }
        if let Some(key) = &request.idempotency_key {
            params["idempotency_key"] = json!(key);
        }
        self.call("play_start", params)
    }

    pub fn play_get(&mut self, sid: &str) -> Result<Play> {
        self.call("play_get", json!({ "play_sid": sid }))
    }

    pub fn play_list(
        &mut self,
        status: Option<PlayStatus>,
        workflow: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Play>> {
        self.call(
            "play_list",
            json!({"status": status, "workflow": workflow, "limit": limit}),
        )
    }

    pub fn play_count(
        &mut self,
        status: Option<PlayStatus>,
        workflow: Option<&str>,
    ) -> Result<u64> {
        self.call(
            "play_count",
            json!({"status": status, "workflow": workflow}),
        )
    }

    /// Removes plays that ended more than `before_s` seconds ago; how many.
    pub fn play_prune(&mut self, before_s: f64, status: Option<PlayStatus>) -> Result<u64> {
        self.call(
            "play_prune",
            json!({"before_s": before_s, "status": status}),
        )
    }

    pub fn play_wait(&mut self, sid: &str, timeout_ms: u64) -> Result<Play> {
        self.call(
            "play_wait",
            json!({"play_sid": sid, "timeout_ms": timeout_ms}),
        )
    }

    pub fn play_spans(&mut self, sid: &str, run: Option<u32>) -> Result<Vec<Span>> {
        self.call("play_spans", json!({"play_sid": sid, "run": run}))
    }

    /// One page of a play's log lines after `after`: at most `limit`.
    pub fn play_logs(
        &mut self,
        sid: &str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LogLine>> {
        self.call(
            "play_logs",
            json!({"play_sid": sid, "after": after, "limit": limit}),
        )
    }

    pub fn play_retry(&mut self, sid: &str) -> Result<Play> {
        self.call("play_retry", json!({ "play_sid": sid }))
    }

    pub fn play_cancel(&mut self, sid: &str) -> Result<Play> {
        self.call("play_cancel", json!({ "play_sid": sid }))
    }

    pub fn play_signal(&mut self, sid: &str, name: &str, payload: &Value) -> Result<SignalEvent> {
        self.call(
            "play_signal",
            json!({"play_sid": sid, "name": name, "payload_json": payload.to_string()}),
        )
    }

    pub fn play_resume(
        &mut self,
        sid: &str,
        resume_id: &str,
        payload: &Value,
    ) -> Result<ResumeAck> {
        self.call(
            "play_resume",
            json!({"play_sid": sid, "resume_id": resume_id, "payload_json": payload.to_string()}),
        )
    }

    pub fn play_pending_resumes(&mut self, sid: &str) -> Result<Vec<ResumeRequest>> {
        self.call("play_pending_resumes", json!({ "play_sid": sid }))
    }

    pub fn play_restart(&mut self, sid: &str, latest: bool) -> Result<Play> {
        let version = if latest { "latest" } else { "pinned" };
        self.call("play_restart", json!({"play_sid": sid, "version": version}))
    }

    /// Saves a schedule; the server checks it whole and says its first fire
    /// in `next_fire_at`.
    pub fn schedule_save(&mut self, save: &ScheduleSave) -> Result<Schedule> {
        self.call("schedule_save", json!(save))
    }

    pub fn schedule_list(&mut self) -> Result<Vec<Schedule>> {
        self.call("schedule_list", json!({}))
    }

    pub fn schedule_get(&mut self, name: &str) -> Result<Schedule> {
        self.call("schedule_get", json!({ "name": name }))
    }

    pub fn schedule_delete(&mut self, name: &str) -> Result<()> {
        self.call_value("schedule_delete", json!({ "name": name }))
            .map(drop)
    }

    pub fn schedule_set_paused(&mut self, name: &str, paused: bool) -> Result<Schedule> {
        self.call(
            "schedule_set_paused",
            json!({"name": name, "paused": paused}),
        )
    }

    /// Starts a play of the schedule now ("run now").
    pub fn http_key_create(&mut self, label: Option<&str>) -> Result<NewHttpKey> {
        let mut params = json!({});
        if let Some(label) = label {
            params["label"] = json!(label);
        }
        self.call("http_key_create", params)
    }

    pub fn http_key_list(&mut self) -> Result<Vec<HttpKey>> {
        self.call("http_key_list", json!({}))
    }

    pub fn workers_list(&mut self) -> Result<Vec<Worker>> {
        self.call("workers_list", json!({}))
    }

    pub fn http_key_revoke(&mut self, id: &str) -> Result<HttpKey> {
        self.call("http_key_revoke", json!({ "id": id }))
    }

    pub fn schedule_trigger(&mut self, name: &str) -> Result<Play> {
        self.call("schedule_trigger", json!({ "name": name }))
    }

    pub fn server_shutdown(&mut self) -> Result<Value> {
        self.call_value("server_shutdown", json!({}))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    use serde_json::{Value, json};

    use super::{SaveRequest, StartRequest};
    use crate::api::METHODS;
    use crate::client::Client;

    /// Every call the typed client makes names a method of the one list,
    /// with params that list names and its required ones all there.
    #[test]
    fn every_typed_call_is_a_listed_method_with_listed_params() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let socket = dir.path().join("api.sock");
        let listener = UnixListener::bind(&socket).expect("a socket");
        // A server that writes down each request and refuses it.
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for stream in listener.incoming() {
                let stream = stream.expect("a connection");
                let mut writer = stream.try_clone().expect("a second handle");
                for line in BufReader::new(stream).lines() {
                    let request: Value = serde_json::from_str(&line.expect("a line")).unwrap();
                    if request["method"] == "stop" {
                        return seen;
                    }
                    let reply = json!({"jsonrpc": "2.0", "id": request["id"],
                        "error": {"code": -32000, "message": "refused"}});
                    writeln!(writer, "{reply}").expect("the reply is sent");
                    seen.push((request["method"].clone(), request["params"].clone()));
                }
            }
            seen
        });
        let mut c = Client::connect(&socket).expect("connected");
        let _ = c.info();
        let _ = c.workflow_save(&SaveRequest {
            name: Some("n"),
            source: "s",
            file_name: Some("f.py"),
            source_path: Some("/f.py"),
            replace: true,
        });
        let _ = c.workflow_get("w");
        let _ = c.workflow_list();
        let _ = c.play_start(&StartRequest {
            workflow: "w".into(),
            input_data: json!({}),
            name: Some("n".into()),
            prefill_resumes: [("a".to_owned(), json!(1))].into_iter().collect(),
            timeout_s: Some(1.0),
            working_dir: Some("/".into()),
            idempotency_key: Some("k".into()),
        });
        let _ = c.play_get("p");
        let _ = c.play_list(None, Some("w"), Some(1));
        let _ = c.play_count(None, Some("w"));
        let _ = c.play_prune(1.0, Some(crate::model::PlayStatus::Success));
        let _ = c.play_wait("p", 1);
        let _ = c.play_spans("p", Some(1));
        let _ = c.play_logs("p", Some(1), 1);
        let _ = c.play_retry("p");
        let _ = c.play_cancel("p");
        let _ = c.play_resume("p", "r", &json!(true));
        let _ = c.play_pending_resumes("p");
        let _ = c.play_signal("p", "n", &json!(1));
        let _ = c.play_restart("p", true);
        let _ = c.schedule_save(&crate::api::ScheduleSave {
            name: "s".into(),
            workflow_sid: "w".into(),
            every_s: Some(1),
            ..Default::default()
        });
        let _ = c.schedule_list();
        let _ = c.schedule_get("s");
        let _ = c.schedule_delete("s");
        let _ = c.schedule_set_paused("s", true);
        let _ = c.schedule_trigger("s");
        let _ = c.http_key_create(Some("l"));
        let _ = c.http_key_list();
        let _ = c.http_key_revoke("k");
        let _ = c.workers_list();
        let _ = c.server_shutdown();
        // The fake server takes one connection at a time.
        let next = c.reconnect().expect("connected");
        drop(c);
        let _ = next.subscribe(Some("p"));
        let _ = Client::connect(&socket)
            .expect("connected")
            .call_value("stop", json!({}));
        let seen = server.join().expect("the fake server");
        assert_eq!(seen.len(), 30, "{seen:?}");
        for (method, params) in &seen {
            let listed = METHODS
                .iter()
                .find(|m| m.name == method)
                .unwrap_or_else(|| panic!("{method} is not in api::METHODS"));
            assert!(!listed.internal, "{method} is the SDK's");
            let sent = params.as_object().expect("params by name");
            for key in sent.keys() {
                assert!(
                    listed.params.iter().any(|(name, _, _)| name == key),
                    "{method} sends `{key}`, which api::METHODS does not list"
                );
            }
            for (name, required, _) in listed.params {
                assert!(
                    !required || sent.contains_key(*name),
                    "{method} leaves out `{name}`, which is required"
                );
            }
        }
    }
}
