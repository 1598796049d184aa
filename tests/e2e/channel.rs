//! End-to-end tests of a run's own channel (SPEC §4, issue 11 items 2, 3
//! and 10): a flow that forges SDK messages writes into no other play, a
//! malformed message stores nothing, a record an older build stored
//! unchecked does not make its play unreadable, and a pause whose schema
//! does not compile fails the flow there, naming the pause.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestEnv, flow, flow_source, wait_until};

fn s(path: &std::path::Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// What a reader sees of a play: the play and its spans, by RPC.
fn seen(env: &TestEnv, sid: &str) -> (Value, Value) {
    (
        env.rpc("play_get", json!({"play_sid": sid})),
        env.rpc("play_spans", json!({"play_sid": sid})),
    )
}

/// The refusal's code, or a panic naming the reply that was not one.
fn refused_code(label: &str, reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{label} was not refused: {reply}"))
}

#[test]
fn a_forging_flow_writes_into_no_other_play_and_stores_nothing_malformed() {
    let env = TestEnv::new();
    let done = env.json(["play", "start", &s(&flow("steps.py")), "--wait", "--json"]);
    assert_eq!(done["status"], "success", "{done}");
    let done_sid = done["sid"].as_str().expect("a sid").to_owned();
    let pid_file = env.scratch("sleeper.pid");
    let input = json!({"pid_file": s(&pid_file), "seconds": 60.0}).to_string();
    let running_sid = env
        .ok(["play", "start", &s(&flow("sleeper.py")), "--input", &input])
        .trim()
        .to_owned();
    // Until its process group and its root span are stored, the sleeper
    // changes by itself.
    wait_until("the sleeper runs", Duration::from_secs(30), || {
        let (play, spans) = seen(&env, &running_sid);
        pid_file.exists() && play.get("run_pgid").is_some() && spans[0]["status"] == "running"
    });
    let before = [seen(&env, &done_sid), seen(&env, &running_sid)];

    let (token_file, late_file) = (env.scratch("token"), env.scratch("late.json"));
    let input = json!({
        "victim_running": running_sid, "victim_done": done_sid,
        "token_file": s(&token_file), "late_file": s(&late_file),
    })
    .to_string();
    let forger = env.json([
        "play",
        "start",
        &s(&flow("forger.py")),
        "--input",
        &input,
        "--wait",
        "--json",
    ]);
    // The victims are unchanged and still readable.
    let after = [seen(&env, &done_sid), seen(&env, &running_sid)];
    assert_eq!(before, after, "the victims changed");
    for sid in [&done_sid, &running_sid] {
        env.ok(["play", "show", sid]);
    }
    assert_eq!(
        forger["status"], "success",
        "its own play is unaffected: {forger}"
    );
    let replies = forger["output_data"].as_object().expect("replies by label");
    assert!(replies.len() > 60, "{} attempts", replies.len());
    for (label, reply) in replies {
        let code = refused_code(label, reply);
        let expected: &[i64] = match label.split('/').next() {
            Some("a") if label == "a/run_attach/no-token" => &[-32602],
            // No token: the public API only.
            Some("a") => &[-32600],
            // Another play, another run, or a second attach.
            Some("b") => &[-32600, -32602],
            // Malformed: refused whole (NaN and Infinity are not JSON).
            _ => &[-32602, -32700],
        };
        assert!(expected.contains(&code), "{label}: {reply}");
    }
    let message = |label: &str| replies[label]["error"]["message"].as_str().unwrap_or("");
    assert!(message(&format!("a/pause/{running_sid}")).contains("run_attach"));
    assert!(message("b/run_attach/second").contains("another connection"));
    assert!(message(&format!("b/pause/{running_sid}")).contains(&running_sid));
    assert!(message("c/span_event/kind bogus").contains("bogus"));
    assert!(message("c/span_event/cost 1e6").contains("cost_usd"));
    assert!(message("c/pause/schema nonsense").contains("pause `forged`"));
    assert!(message("c/step_output/output 1e400").contains("read back"));

    // Its own play holds none of what it forged.
    let spans = env.rpc("play_spans", json!({"play_sid": forger["sid"]}));
    let spans = spans.as_array().expect("spans");
    assert!(
        spans.iter().all(|span| span["name"] != "forged"),
        "{spans:#?}"
    );
    assert_eq!(forger["total_cost_usd"], 0.0);

    // Its token is useless once its run has ended: on a new connection, and
    // on the run's own connection, which a process it left behind still holds.
    let token = std::fs::read_to_string(&token_file).expect("the forger's token");
    let late_attach = env.wire(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "run_attach", "params": {"token": token}})
            .to_string(),
    );
    assert_eq!(refused_code("a late attach", &late_attach), -32600);
    assert!(
        late_attach["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ended")),
        "{late_attach}"
    );
    wait_until(
        "the process the forger left behind has tried its span",
        Duration::from_secs(30),
        || late_file.exists(),
    );
    let late: Value = serde_json::from_str(&std::fs::read_to_string(&late_file).expect("reply"))
        .expect("a JSON reply");
    assert_eq!(
        refused_code("a span after the run", &late),
        -32002,
        "{late}"
    );
    let spans_after = env.rpc("play_spans", json!({"play_sid": forger["sid"]}));
    assert_eq!(spans_after.as_array().expect("spans"), spans);
    // The server never prints a token.
    let log = std::fs::read_to_string(env.data_dir.join("server.log")).unwrap_or_default();
    assert!(
        !log.contains(token.trim()),
        "the token is in the server's log"
    );
    env.ok(["play", "cancel", &running_sid, "--yes"]);
}

#[test]
fn sdk_messages_are_refused_on_a_connection_that_did_not_attach() {
    let env = TestEnv::new();
    env.start();
    for method in [
        "span_event",
        "spans_replayed",
        "step_output",
        "pause",
        "run_result",
        "workflow_resolve",
    ] {
        let reply = env
            .wire(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {}}).to_string());
        assert_eq!(refused_code(method, &reply), -32600, "{reply}");
    }
    // A connection gets a thread of its own only with a run's token: a
    // hundred strangers that speak SDK messages and stay connected cost none.
    let pid = env.server_pid().expect("the server's pid");
    let threads = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("the server's threads")
            .count()
    };
    let before = threads();
    let strangers: Vec<UnixStream> = (0..100)
        .map(|i| {
            let stream = UnixStream::connect(env.socket()).expect("a connection");
            let mut writer = &stream;
            let line = json!({"jsonrpc": "2.0", "id": i, "method": "step_output",
                              "params": {"step_key": "k", "output": 1}});
            writeln!(writer, "{line}").expect("sent");
            let mut reply = String::new();
            BufReader::new(&stream)
                .read_line(&mut reply)
                .expect("a reply");
            assert!(reply.contains("-32600"), "{reply}");
            stream
        })
        .collect();
    let during = threads();
    assert!(
        during < before + 10,
        "{} threads for 100 connections that did not attach",
        during - before
    );
    drop(strangers);
    // The document lists the attach, marked internal.
    let doc = env.rpc("rpc.discover", json!({}));
    let attach = doc["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .find(|m| m["name"] == "run_attach")
        .expect("run_attach is documented");
    assert_eq!(attach["x-internal"], true);
}

#[test]
fn a_play_whose_store_holds_a_record_that_does_not_decode_stays_readable() {
    let env = TestEnv::new();
    if !env.on_redb("it writes bad records straight into the redb file") {
        return;
    }
    let done = env.json(["play", "start", &s(&flow("steps.py")), "--wait", "--json"]);
    let sid = done["sid"].as_str().expect("a sid").to_owned();
    let spans_before = env.rpc("play_spans", json!({"play_sid": sid}));
    env.stop();
    // What an older build let a forging flow store: a span of a kind that
    // does not exist, and a checkpoint whose number is out of range.
    {
        // The stopped server's last processes may hold the file a moment longer.
        let path = env.data_dir.join("hero_logic.redb");
        let mut db = None;
        wait_until("the store can be opened", Duration::from_secs(20), || {
            db = redb::Database::open(&path).ok();
            db.is_some()
        });
        let db = db.expect("the store");
        let txn = db.begin_write().expect("a write");
        {
            let spans: redb::TableDefinition<(&str, u32, u64), &str> =
                redb::TableDefinition::new("spans");
            let bogus = json!({"id": "1.99", "play_sid": sid, "run": 1, "kind": "bogus"});
            txn.open_table(spans)
                .expect("spans")
                .insert((sid.as_str(), 1, 99), bogus.to_string().as_str())
                .expect("insert");
            let outputs: redb::TableDefinition<(&str, &str), &str> =
                redb::TableDefinition::new("step_outputs");
            txn.open_table(outputs)
                .expect("step outputs")
                .insert((sid.as_str(), "bad-step"), "1e400")
                .expect("insert");
        }
        txn.commit().expect("commit");
    }
    env.start();
    let spans = env.rpc("play_spans", json!({"play_sid": sid}));
    assert_eq!(
        spans,
        spans_before,
        "the bad span is left out; log:\n{}",
        env.server_log_tail()
    );
    let shown = env.json(["play", "show", &sid, "--json"]);
    assert_eq!(shown["status"], "success");
    assert_eq!(shown["output_data"], done["output_data"]);
    env.ok(["play", "show", &sid]);
    assert!(
        env.server_log_tail().contains("does not decode"),
        "the server says what it left out:\n{}",
        env.server_log_tail()
    );
}

#[test]
fn a_pause_whose_schema_does_not_compile_fails_the_flow_naming_the_pause() {
    let env = TestEnv::new();
    let path = env.scratch("bad_schema.py");
    std::fs::write(&path, flow_source("bad_schema.py")).expect("the flow file");
    let out = env.run([
        "play",
        "start",
        &s(&path),
        "--prefill",
        "n=3",
        "--prefill",
        r#"m=["a"]"#,
        "--wait",
        "--json",
    ]);
    out.expect_code(1);
    let play = out.json();
    assert_eq!(play["status"], "failed", "{play}");
    let error = play["error"].as_str().expect("an error");
    assert!(error.contains("pause `q`"), "{error}");
    assert!(error.contains("nonsense"), "{error}");
    assert!(error.contains("JSON Schema"), "{error}");
    assert_eq!(play["pending_resumes"], json!([]), "nothing was recorded");
}
