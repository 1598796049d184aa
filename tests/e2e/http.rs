//! End-to-end tests of the HTTP API (issue 14, SPEC §11): a real server with
//! `HERO_LOGIC_HTTP`, real flows, and a real HTTP client (ureq); raw TCP
//! where a client must misbehave (slow, idle, oversized).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{TestEnv, flow, path_arg, wait_until};

/// Starts `env`'s server with the HTTP API on a free loopback port; returns
/// its base URL, `http://127.0.0.1:PORT`.
pub fn start_http(env: &TestEnv) -> String {
    let out = env.output(
        env.cmd().env("HERO_LOGIC_HTTP", "127.0.0.1:0").arg("start"),
        "HERO_LOGIC_HTTP=127.0.0.1:0 hero_logic start".into(),
    );
    out.expect_code(0);
    env.rpc("info", json!({}))["http"]
        .as_str()
        .expect("info names the HTTP API while it is on")
        .to_owned()
}

/// A status and a JSON body (`null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub header: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends one request; `header` names a response header to keep.
pub fn send(
    method: &str,
    url: &str,
    key: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let agent = agent();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(key) = key {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .header("content-type", "application/json")
        .body(body.unwrap_or("").to_owned())
        .expect("a request");
    let mut response = agent
        .run(request)
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .expect("a body within the limit");
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        header: response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

pub fn post(url: &str, key: Option<&str>, body: &str) -> Reply {
    send("POST", url, key, &[], Some(body))
}

pub fn get(url: &str, key: Option<&str>) -> Reply {
    send("GET", url, key, &[], None)
}

/// `http-key create`: the key, printed alone on stdout.
pub fn new_key(env: &TestEnv, label: &str) -> String {
    env.ok(["http-key", "create", "--label", label])
        .trim()
        .to_owned()
}

/// Starts `approve.py` and waits for its pause; returns the play sid and
/// the pause as `pending --json` shows it.
pub fn paused_play(env: &TestEnv) -> (String, Value) {
    let sid = env
        .ok(["play", "start", &path_arg(&flow("approve.py"))])
        .trim()
        .to_owned();
    env.run(["play", "wait", &sid]).expect_code(75);
    let pending = env.json(["pending", &sid, "--json"]);
    (sid, pending[0].clone())
}

fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body["error"]["code"], code, "{reply:?}");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{reply:?}"
    );
}

#[test]
fn a_resume_url_answers_its_pause_by_the_rules_of_play_resume() {
    let env = TestEnv::new();
    let base = start_http(&env);
    let (sid, pause) = paused_play(&env);
    let token = pause["token"].as_str().expect("every pause has a token");
    assert_eq!(token.len(), 22, "128 bits, URL-safe");
    let url = pause["resume_url"].as_str().expect("a resume_url");
    assert_eq!(url, format!("{base}/v1/resume/{token}"));
    // `pending` and `play show` print it for people to copy.
    assert!(env.ok(["pending", &sid]).contains(url));
    assert!(env.ok(["play", "show", &sid]).contains(url));

    assert_error(&post(url, None, "{not json"), 400, "bad_json");
    let wrong = post(url, None, r#""yes""#);
    assert_error(&wrong, 422, "schema_violation");
    assert!(
        wrong.body["error"]["violations"][0]
            .as_str()
            .is_some_and(|v| v.contains("boolean")),
        "{wrong:?}"
    );
    assert_error(
        &post(
            &format!("{base}/v1/resume/{}", "A".repeat(22)),
            None,
            "true",
        ),
        404,
        "not_found",
    );

    let ok = post(url, None, "true");
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.body["ok"], true);
    let again = post(url, None, "true");
    assert_eq!(again.status, 200, "the same answer again is idempotent");
    assert_eq!(again.body["resumed_at"], ok.body["resumed_at"]);
    let done = env.json(["play", "wait", &sid, "--json"]);
    assert_eq!(done["status"], "success");
    assert_eq!(done["output_data"]["approved"], true);
    // The play has ended: the token can do nothing new any more.
    assert_error(&post(url, None, "false"), 404, "not_found");
    assert_eq!(post(url, None, "true").status, 200, "a retried webhook");
}

#[test]
fn another_answer_to_an_answered_pause_is_a_conflict() {
    let env = TestEnv::new();
    let base = start_http(&env);
    env.ok(["workflow", "save", &path_arg(&flow("ask.py"))]);
    let sid = env.ok(["play", "start", "ask"]).trim().to_owned();
    env.run(["play", "wait", &sid]).expect_code(75);
    let first = env.json(["pending", &sid, "--json"])[0].clone();
    let url = first["resume_url"].as_str().expect("a resume_url");
    assert!(url.starts_with(&base));
    assert_eq!(post(url, None, "7").status, 200);
    // The play goes on to its next pause; the first is answered.
    wait_until(
        "the play reaches its second pause",
        Duration::from_secs(30),
        || {
            let play = env.rpc("play_get", json!({"play_sid": sid}));
            play["status"] == "awaiting_resume" && play["pending_resumes"][0]["name"] == "size"
        },
    );
    assert_error(&post(url, None, "8"), 409, "wrong_state");
}

#[test]
fn keys_guard_starts_and_reads_and_a_key_is_shown_once() {
    let env = TestEnv::new();
    let base = start_http(&env);
    env.ok(["workflow", "save", &path_arg(&flow("approve.py"))]);
    let key = new_key(&env, "ci");
    assert!(key.starts_with("hlk_"), "{key}");
    let listed = env.json(["http-key", "list", "--json"]);
    let entry = &listed[0];
    let fields: Vec<&str> = entry
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["id", "label", "created_at", "last_used_at"]);
    assert_eq!(entry["label"], "ci");
    assert!(entry["last_used_at"].is_null());

    let start = format!("{base}/v1/workflows/approve/plays");
    for (what, reply) in [
        ("no key", post(&start, None, "{}")),
        ("a wrong key", post(&start, Some("hlk_wrong"), "{}")),
        (
            "a key under another scheme",
            send(
                "POST",
                &start,
                None,
                &[("authorization", &format!("Basic {key}"))],
                Some("{}"),
            ),
        ),
    ] {
        assert_error(&reply, 401, "unauthorized");
        assert_eq!(reply.header.as_deref(), Some("Bearer"), "{what}");
    }
    // Without a key, nothing is said about what exists.
    assert_eq!(
        get(&format!("{base}/v1/plays/nosuchplay"), None).body,
        get(&format!("{base}/v1/plays/{}", "x"), Some("hlk_wrong")).body
    );

    let created = send(
        "POST",
        &start,
        Some(&key),
        &[("idempotency-key", "order-7")],
        Some(r#"{"input_data": {"order": 7}}"#),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let sid = created.body["sid"].as_str().expect("a Play").to_owned();
    assert_eq!(created.body["idempotency_key"], "order-7");
    let repeated = send(
        "POST",
        &start,
        Some(&key),
        &[("idempotency-key", "order-7")],
        Some(r#"{"input_data": {"order": 8}}"#),
    );
    assert_eq!(repeated.body["sid"], sid.as_str(), "{repeated:?}");
    // The key reaches RPC starts too: one index per workflow.
    let by_rpc = env.rpc(
        "play_start",
        json!({"workflow_sid": "approve", "idempotency_key": "order-7"}),
    );
    assert_eq!(by_rpc["sid"], sid.as_str());
    assert_eq!(
        env.rpc("play_list", json!({"workflow": "approve"}))
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let read = get(&format!("{base}/v1/plays/{sid}"), Some(&key));
    assert_eq!(read.status, 200);
    assert_eq!(read.body["input_data"], json!({"order": 7}));
    assert_error(
        &get(&format!("{base}/v1/plays/nosuchplay"), Some(&key)),
        404,
        "not_found",
    );
    assert_error(
        &post(
            &format!("{base}/v1/workflows/nosuchflow/plays"),
            Some(&key),
            "{}",
        ),
        404,
        "not_found",
    );
    assert_error(
        &post(&start, Some(&key), r#"{"input": {}}"#),
        400,
        "invalid_params",
    );
    assert_error(
        &get(&format!("{base}/v1/nothing/here"), Some(&key)),
        404,
        "not_found",
    );
    assert_eq!(get(&start, Some(&key)).status, 405);
    wait_until("the key's use is noted", Duration::from_secs(10), || {
        !env.json(["http-key", "list", "--json"])[0]["last_used_at"].is_null()
    });

    let id = env.json(["http-key", "list", "--json"])[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    env.ok(["http-key", "revoke", &id]);
    assert_error(
        &get(&format!("{base}/v1/plays/{sid}"), Some(&key)),
        401,
        "unauthorized",
    );
    assert_eq!(env.json(["http-key", "list", "--json"]), json!([]));
    let again = env.run(["http-key", "revoke", &id]);
    assert_eq!(again.code, Some(1), "{again}");
    assert!(again.stderr.contains(&id), "{again}");
}

/// Bytes sent raw, for what a polite client never does.
fn raw(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).expect("a TCP connection");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    stream
}

/// What the server answers on `stream` until it closes it: the status
/// line's code (None when it closed without a word).
fn status_of(stream: &mut TcpStream) -> Option<u16> {
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

#[test]
fn bad_input_is_refused_and_stores_nothing_and_the_server_goes_on() {
    let env = TestEnv::new();
    start_http(&env);
    env.ok(["workflow", "save", &path_arg(&flow("approve.py"))]);
    let key = new_key(&env, "k");
    let revoked = new_key(&env, "gone");
    let id = env.json(["http-key", "list", "--json"])[1]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    env.ok(["http-key", "revoke", &id]);
    let (sid, pause) = paused_play(&env);
    let token = pause["token"].as_str().expect("a token").to_owned();
    let finished = env.json([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--wait",
        "--json",
    ])["sid"]
        .as_str()
        .expect("a sid")
        .to_owned();
    env.stop();
    let before = env.store_dump();
    let base = start_http(&env);
    let resume = format!("{base}/v1/resume/{token}");

    let cases: Vec<(&str, Reply, u16, &str)> = vec![
        (
            "wrong token",
            post(
                &format!("{base}/v1/resume/{}", "B".repeat(22)),
                None,
                "true",
            ),
            404,
            "not_found",
        ),
        (
            "a token of another length",
            post(&format!("{base}/v1/resume/short"), None, "true"),
            404,
            "not_found",
        ),
        ("malformed JSON", post(&resume, None, "{"), 400, "bad_json"),
        ("empty body", post(&resume, None, ""), 400, "bad_json"),
        (
            "payload against the schema",
            post(&resume, None, "42"),
            422,
            "schema_violation",
        ),
        (
            "no key",
            get(&format!("{base}/v1/plays/{sid}"), None),
            401,
            "unauthorized",
        ),
        (
            "wrong key",
            get(&format!("{base}/v1/plays/{sid}"), Some("hlk_nope")),
            401,
            "unauthorized",
        ),
        (
            "revoked key",
            get(&format!("{base}/v1/plays/{sid}"), Some(&revoked)),
            401,
            "unauthorized",
        ),
        (
            "unknown workflow",
            post(
                &format!("{base}/v1/workflows/nosuch/plays"),
                Some(&key),
                "{}",
            ),
            404,
            "not_found",
        ),
        (
            "input that lacks nothing but is not an object",
            post(
                &format!("{base}/v1/workflows/approve/plays"),
                Some(&key),
                r#"{"input_data": 3}"#,
            ),
            400,
            "invalid_params",
        ),
        (
            "malformed JSON to a start",
            post(
                &format!("{base}/v1/workflows/approve/plays"),
                Some(&key),
                "{",
            ),
            400,
            "bad_json",
        ),
        (
            "a signal to a finished play",
            post(
                &format!("{base}/v1/plays/{finished}/signals/paid"),
                Some(&key),
                "{}",
            ),
            409,
            "wrong_state",
        ),
        (
            "a signal with malformed JSON",
            post(
                &format!("{base}/v1/plays/{sid}/signals/approve"),
                Some(&key),
                "{",
            ),
            400,
            "bad_json",
        ),
        (
            "unknown play",
            get(&format!("{base}/v1/plays/nosuch"), Some(&key)),
            404,
            "not_found",
        ),
    ];
    let mut problems = Vec::new();
    for (what, reply, status, code) in &cases {
        if reply.status != *status || reply.body["error"]["code"] != *code {
            problems.push(format!("{what}: expected {status} {code}, got {reply:?}"));
        }
    }
    // A body over the limit, announced: refused before it is read.
    let mut announced = raw(&base);
    write!(
        announced,
        "POST /v1/resume/{token} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        2 << 20
    )
    .expect("a head");
    let refused = status_of(&mut announced);
    if refused != Some(413) {
        problems.push(format!("a body over the limit: got {refused:?}"));
    }
    // A body over the limit sent in chunks, without a length up front.
    let mut chunked = raw(&base);
    let path = format!("/v1/resume/{token}");
    write!(
        chunked,
        "POST {path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .expect("a head");
    let chunk = vec![b'1'; 64 << 10];
    for _ in 0..32 {
        let sent = write!(chunked, "{:x}\r\n", chunk.len())
            .and_then(|()| chunked.write_all(&chunk))
            .and_then(|()| chunked.write_all(b"\r\n"));
        if sent.is_err() {
            break;
        }
    }
    let refused = status_of(&mut chunked);
    if refused != Some(413) {
        problems.push(format!("a chunked body over the limit: got {refused:?}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The server still answers, on both ways in.
    assert_eq!(get(&format!("{base}/v1/plays/{sid}"), None).status, 401);
    env.rpc("info", json!({}));
    env.stop();
    assert_eq!(
        env.store_dump(),
        before,
        "a refused request stored something"
    );
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_the_server_answers_meanwhile() {
    let env = TestEnv::new();
    let base = start_http(&env);
    let started = Instant::now();
    // A slow-loris client: a head that never ends, one byte at a time.
    let mut loris = raw(&base);
    loris
        .write_all(b"GET /v1/plays/x HTTP/1.1\r\nhost: x\r\n")
        .expect("a partial head");
    let loris = std::thread::spawn(move || {
        let mut closed = false;
        for _ in 0..60 {
            if loris.write_all(b"x-a: b\r\n").is_err() {
                closed = true;
                break;
            }
            // Pacing the client is what is tested here, not a wait.
            std::thread::sleep(Duration::from_millis(300));
        }
        closed
    });
    // A body announced and never sent.
    let mut stalled = raw(&base);
    stalled
        .write_all(b"POST /v1/resume/x HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n")
        .expect("a head");
    // A thousand idle connections.
    let idle: Vec<TcpStream> = (0..1000).map(|_| raw(&base)).collect();
    let t = Instant::now();
    let answered = get(&format!("{base}/v1/plays/x"), None);
    assert_eq!(answered.status, 401);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "answered in {:?} with 1000 idle connections open",
        t.elapsed()
    );
    assert_eq!(status_of(&mut stalled), Some(408), "a body that never came");
    assert!(
        loris.join().expect("the loris thread"),
        "the loris was cut off"
    );
    let cut = started.elapsed();
    assert!(cut < Duration::from_secs(25), "cut after {cut:?}");
    // Every idle connection was closed by the server.
    for mut stream in idle {
        let mut rest = Vec::new();
        assert!(
            stream.read_to_end(&mut rest).is_ok(),
            "an idle connection is closed by the server"
        );
    }
    assert_eq!(get(&format!("{base}/v1/plays/x"), None).status, 401);
}

#[test]
fn a_public_address_needs_http_public() {
    let env = TestEnv::new();
    let out = env.output(
        env.cmd()
            .env("HERO_LOGIC_NO_AUTOSTART", "1")
            .args(["server", "--http", "0.0.0.0:0"]),
        "hero_logic server --http 0.0.0.0:0".into(),
    );
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("not a loopback address"), "{out}");
    assert!(out.stderr.contains("--http-public"), "{out}");
    let out = env.output(
        env.cmd().env("HERO_LOGIC_HTTP", "nonsense").arg("server"),
        "HERO_LOGIC_HTTP=nonsense hero_logic server".into(),
    );
    assert_eq!(out.code, Some(2), "{out}");
    assert_eq!(env.status()["running"], false);
}

#[test]
fn keys_and_tokens_appear_in_no_log() {
    let env = TestEnv::new();
    let base = start_http(&env);
    let key = new_key(&env, "secret-test");
    let (sid, pause) = paused_play(&env);
    let token = pause["token"].as_str().expect("a token").to_owned();
    // Every path through the listener: a good and a bad use of each.
    assert_eq!(
        get(&format!("{base}/v1/plays/{sid}"), Some(&key)).status,
        200
    );
    assert_eq!(
        get(&format!("{base}/v1/plays/{sid}"), Some(&format!("{key}x"))).status,
        401
    );
    assert_eq!(
        post(&format!("{base}/v1/resume/{token}x"), None, "true").status,
        404
    );
    assert_eq!(
        post(&format!("{base}/v1/resume/{token}"), None, "1").status,
        422
    );
    assert_eq!(
        post(&format!("{base}/v1/resume/{token}"), None, "true").status,
        200
    );
    env.run(["play", "wait", &sid]).expect_code(0);
    let logs = env.ok(["play", "logs", &sid]);
    assert!(!logs.contains(&token) && !logs.contains(&key));
    env.stop();
    let mut checked = 0;
    let mut stack = vec![env.data_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("a readable file");
            let text = String::from_utf8_lossy(&bytes);
            // The store keeps each pause's token (pending shows it); a key
            // is nowhere, not even there.
            assert!(!text.contains(&key), "the key is in {}", path.display());
            let store = path
                .file_name()
                .is_some_and(|n| n == "hero_logic.redb" || n == "hero_logic.journal");
            if !store {
                assert!(!text.contains(&token), "a token is in {}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
    let server_log = std::fs::read_to_string(env.data_dir.join("server.log")).unwrap_or_default();
    assert!(server_log.contains("HTTP API on"), "{server_log}");
}

#[test]
fn the_webhook_example_answers_its_pause_with_curl() {
    let env = TestEnv::new();
    let mut run = env.command("bash");
    run.arg(crate::common::repo_path("examples/webhook/run.sh"))
        .env("HERO_LOGIC", crate::common::BIN);
    let out = env.output(
        &mut run,
        "HERO_LOGIC=target/.../hero_logic bash examples/webhook/run.sh".into(),
    );
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["status"], "success", "{out}");
    assert_eq!(
        play["output_data"],
        json!({"order": "order-7", "tx": "tx_123"})
    );
    assert!(out.stderr.contains("<- 422"), "{out}");
}

#[test]
fn past_the_connection_bound_the_oldest_idle_makes_way_else_503() {
    let env = TestEnv::new();
    // 256 descriptors leave the socket 128 connections and the listener 64.
    let mut start = env.command("sh");
    start
        .args([
            "-c",
            r#"ulimit -n 256 && exec "$0" start"#,
            crate::common::BIN,
        ])
        .env("HERO_LOGIC_HTTP", "127.0.0.1:0");
    env.output(&mut start, "ulimit -n 256; hero_logic start".into())
        .expect_code(0);
    let base = env.rpc("info", json!({}))["http"]
        .as_str()
        .expect("the HTTP API is on")
        .to_owned();
    let mut idle: Vec<TcpStream> = (0..100).map(|_| raw(&base)).collect();
    // Past the bound, while no connection has been idle a second: 503.
    let mut last = idle.pop().expect("a connection");
    assert_eq!(status_of(&mut last), Some(503));
    // Once the first have idled a second, a client that speaks gets in.
    wait_until(
        "a request gets past the idle connections",
        Duration::from_secs(8),
        || {
            // A refused connection may be reset before the answer is read.
            agent()
                .get(format!("{base}/v1/plays/x"))
                .call()
                .is_ok_and(|r| r.status().as_u16() == 401)
        },
    );
    let mut evicted = idle.remove(0);
    let mut rest = Vec::new();
    assert!(
        evicted.read_to_end(&mut rest).is_ok(),
        "the oldest was closed"
    );
    drop(idle);
    env.rpc("info", json!({}));
}
