//! The server under hostile clients: out of file descriptors, pipelined
//! requests, bytes that are not UTF-8, wrong-typed params, numbers no
//! request may carry, a stale socket that resets, big integers, and a
//! property test of framing and dispatch.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{BIN, TestEnv, flow, python, wait_until};

fn path_arg(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// A connection that speaks JSON-RPC lines, with a deadline on every read
/// and write so that a hung server fails the test instead of hanging it.
struct Wire {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Wire {
    fn open(env: &TestEnv) -> Wire {
        let stream = UnixStream::connect(env.socket()).expect("a connection to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a read timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .expect("a write timeout");
        Wire {
            reader: BufReader::new(stream.try_clone().expect("a second handle")),
            writer: stream,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("the request is sent");
    }

    /// The next line from the server, as JSON.
    fn read(&mut self) -> Value {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("no answer from the server: {e}"));
        assert!(n > 0, "the server closed the connection");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
    }

    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(format!("{line}\n").as_bytes());
        self.read()
    }
}

/// The error code of an answer, if it is an error.
fn code(answer: &Value) -> Option<i64> {
    answer["error"]["code"].as_i64()
}

// ---------------------------------------------------------------------------
// Out of file descriptors.

/// A foreground server whose file descriptors are limited to `fds`.
fn server_with_fd_limit(env: &TestEnv, fds: u32) -> Child {
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {fds} && exec \"$0\" server"))
        .arg(BIN)
        .env("HERO_SOCKET_DIR", &env.socket_dir)
        .env("HERO_LOGIC_DATA_DIR", &env.data_dir)
        .env("HERO_LOGIC_PYTHON", python())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(env.scratch("server.err")).expect("a log file"))
        .spawn()
        .expect("the server starts");
    wait_until("the server answers", Duration::from_secs(20), || {
        UnixStream::connect(env.socket()).is_ok()
    });
    child
}

#[test]
fn a_server_out_of_file_descriptors_keeps_serving_and_answers_once_they_free_up() {
    const FDS: u32 = 128;
    const IDLE: usize = 200;
    let env = TestEnv::new();
    let mut server = server_with_fd_limit(&env, FDS);
    let idle: Vec<UnixStream> = (0..IDLE)
        .map(|i| {
            UnixStream::connect(env.socket())
                .unwrap_or_else(|e| panic!("idle connection {i} of {IDLE}: {e}"))
        })
        .collect();
    // One more client, behind the idle ones: it waits to be served.
    let mut late = Wire::open(&env);
    late.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\"}\n");
    assert!(
        server.try_wait().expect("the server's status").is_none(),
        "the server ended with {IDLE} connections under `ulimit -n {FDS}`:\n{}",
        std::fs::read_to_string(env.scratch("server.err")).unwrap_or_default()
    );
    let freed = Instant::now();
    drop(idle);
    let answer = late.read();
    let answered_in = freed.elapsed();
    assert_eq!(answer["result"]["pid"], json!(server.id()), "{answer}");
    eprintln!(
        "{IDLE} idle connections under `ulimit -n {FDS}`: the next client was answered {answered_in:?} after they closed"
    );
    let play = env.json([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--wait",
        "--json",
    ]);
    assert_eq!(play["status"], "success", "{play}");
    assert!(server.try_wait().expect("the server's status").is_none());
}

// ---------------------------------------------------------------------------
// Pipelined requests.

#[test]
fn pipelined_requests_with_large_answers_are_all_answered_in_order() {
    const REQUESTS: u64 = 4;
    let env = TestEnv::new();
    env.ok(["workflow", "save", &path_arg(&flow("steps.py"))]);
    let padding = "x".repeat(200_000);
    let mut wire = Wire::open(&env);
    let started = Instant::now();
    let mut batch = Vec::new();
    for id in 1..=REQUESTS {
        let request = json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "play_start",
            "params": {"workflow_sid": "steps", "input_data": {"name": padding}},
        });
        batch.extend_from_slice(format!("{request}\n").as_bytes());
    }
    // All requests before any answer is read: each answer echoes its 200 kB
    // input, more than the socket's buffers hold.
    wire.send(&batch);
    for id in 1..=REQUESTS {
        let answer = wire.read();
        assert_eq!(answer["id"], json!(id), "answers come in request order");
        assert_eq!(
            answer["result"]["input_data"]["name"]
                .as_str()
                .map(str::len),
            Some(200_000),
            "answer {id} echoes its input"
        );
    }
    eprintln!(
        "{REQUESTS} pipelined play_starts of 200 kB each answered in {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Malformed requests and bad values.

#[test]
fn a_request_that_is_not_utf8_gets_a_parse_error_and_the_connection_stays_open() {
    let env = TestEnv::new();
    env.start();
    let mut wire = Wire::open(&env);
    wire.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\xff\xfe\"}\n");
    let answer = wire.read();
    assert_eq!(code(&answer), Some(-32700), "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("UTF-8")),
        "{answer}"
    );
    let info = wire.call(2, "info", json!({}));
    assert!(info["result"]["pid"].is_number(), "{info}");
}

#[test]
fn subscribe_with_a_wrong_typed_play_sid_is_refused_naming_it() {
    let env = TestEnv::new();
    env.start();
    for (params, wanted) in [
        (json!({"play_sid": 5}), Some("play_sid")),
        (json!({"play_sid": ["a"]}), Some("play_sid")),
        (json!({"play": "abc"}), Some("play")),
        (json!({"play_sid": "abc"}), None),
        (json!({"play_sid": null}), None),
        (json!({}), None),
    ] {
        let answer = Wire::open(&env).call(1, "subscribe", params.clone());
        match wanted {
            Some(name) => {
                assert_eq!(code(&answer), Some(-32602), "{params} -> {answer}");
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains(name), "{params} -> {answer}");
            }
            None => assert_eq!(answer["result"]["ok"], json!(true), "{params} -> {answer}"),
        }
    }
}

/// The play in an `event` notification of `sid`, if the line is one.
fn play_event(line: &Value, sid: &str) -> Option<Value> {
    let params = &line["params"];
    (line["method"] == "event" && params["event"] == "play" && params["play"]["sid"] == sid)
        .then(|| params["play"].clone())
}

/// A subscriber is told a running play's progress without an event per
/// checkpoint: a play waiting after its second step is seen with both
/// counted though no checkpoint follows, and its end is the last thing
/// told of it (never a `running` read before the end and sent after).
#[test]
fn a_subscriber_sees_a_plays_progress_and_then_its_end_last() {
    let env = TestEnv::new();
    env.start();
    let mut wire = Wire::open(&env);
    let answer = wire.call(1, "subscribe", json!({}));
    assert_eq!(answer["result"]["ok"], true, "{answer}");
    let flow = env.scratch("gated_steps.py");
    std::fs::write(&flow, crate::common::flow_source("gated_steps.py")).expect("the flow");
    let gate = env.scratch("gate");
    let input = json!({
        "log": path_arg(&env.scratch("log")),
        "gate": path_arg(&gate),
        "pids": path_arg(&env.scratch("pids")),
    });
    let sid = env
        .ok([
            "play",
            "start",
            &path_arg(&flow),
            "--input",
            &input.to_string(),
        ])
        .trim()
        .to_owned();
    loop {
        if let Some(play) = play_event(&wire.read(), &sid)
            && play["steps_done"] == 2
        {
            assert_eq!(play["status"], "running", "{play}");
            break;
        }
    }
    std::fs::write(&gate, "").expect("open the gate");
    loop {
        if let Some(play) = play_event(&wire.read(), &sid)
            && play["status"] != "running"
        {
            assert_eq!(play["status"], "success", "{play}");
            assert_eq!(play["steps_done"], 4, "{play}");
            break;
        }
    }
    // Past two ticks of progress (50 ms each), nothing more of it.
    wire.writer
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("a shorter read timeout");
    let mut line = String::new();
    while wire.reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        let told: Value = serde_json::from_str(&line).expect("JSON");
        assert!(play_event(&told, &sid).is_none(), "after its end: {told}");
        line.clear();
    }
}

/// Every record of a stopped server's store, to compare before and after.
/// A play of `tests/flows/steps.py` run to its end: its sid.
fn finished_play(env: &TestEnv) -> String {
    env.json([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--wait",
        "--json",
    ])["sid"]
        .as_str()
        .expect("a sid")
        .to_owned()
}

#[test]
fn numbers_no_request_may_carry_are_refused_up_front_and_store_nothing() {
    let env = TestEnv::new();
    let sid = finished_play(&env);
    let start =
        |timeout: Value| json!({"workflow_sid": "steps", "input_data": {}, "timeout_s": timeout});
    let rpc_rows: Vec<(&str, Value, &str)> = vec![
        ("play_start", start(json!(1e20)), "timeout_s"),
        ("play_start", start(json!(1e300)), "timeout_s"),
        ("play_start", start(json!(-1)), "timeout_s"),
        ("play_start", start(json!(0)), "timeout_s"),
        ("play_start", start(json!("10")), "timeout_s"),
        ("play_run_async", start(json!(1e20)), "timeout_s"),
        (
            "play_wait",
            json!({"play_sid": sid, "timeout_ms": u64::MAX}),
            "timeout_ms",
        ),
        ("play_wait", json!({"play_sid": sid, "timeout_ms": -1}), ""),
        ("play_wait", json!({"play_sid": sid, "timeout_ms": 1.5}), ""),
        ("play_list", json!({"limit": -1}), ""),
        ("play_list", json!({"limit": 1e20}), ""),
        (
            "play_spans",
            json!({"play_sid": sid, "run": 1u64 << 40}),
            "",
        ),
        ("play_logs", json!({"play_sid": sid, "after": -5}), ""),
    ];
    let cli_rows: Vec<Vec<String>> = [
        vec!["play", "start", "steps", "--timeout", "1e20"],
        vec!["play", "start", "steps", "--timeout", "inf"],
        vec!["play", "start", "steps", "--timeout", "NaN"],
        vec!["play", "start", "steps", "--timeout=-1"],
        vec!["play", "start", "steps", "--timeout", "0"],
        vec!["play", "wait", &sid, "--timeout", "1e20"],
    ]
    .into_iter()
    .map(|row| row.into_iter().map(str::to_owned).collect())
    .collect();
    env.stop();
    let before = env.store_dump();
    env.start();
    let mut wire = Wire::open(&env);
    let mut problems = Vec::new();
    for (id, (method, params, names)) in (1..).zip(&rpc_rows) {
        let answer = wire.call(id, method, params.clone());
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        if code(&answer) != Some(-32602) || !message.contains(names) {
            problems.push(format!("{method} {params} -> {answer}"));
        }
    }
    for args in &cli_rows {
        let out = env.run(args);
        if out.code != Some(2) || !out.stderr.contains("--timeout") {
            problems.push(format!("not a usage error naming the flag:\n{out}"));
        }
    }
    let info = wire.call(0, "info", json!({}));
    assert!(info["result"]["pid"].is_number(), "the server is still up");
    env.stop();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        env.store_dump(),
        before,
        "a refused request changed the store"
    );
}

/// A play stored with `timeout_s: 1e20` by a build that let it through,
/// left `running`: the server recovers it at start instead of panicking.
#[test]
fn a_play_stored_with_a_timeout_out_of_range_is_recovered_without_a_panic() {
    let env = TestEnv::new();
    if !env.on_redb("it writes an old record straight into the redb file") {
        return;
    }
    let sid = finished_play(&env);
    env.stop();
    {
        // The stopped server's process may still hold the file a moment.
        let mut store = None;
        wait_until("the store opens", Duration::from_secs(20), || {
            store = hero_logic::store::Store::open(&env.data_dir).ok();
            store.is_some()
        });
        let store = std::sync::Arc::new(store.expect("the store opened"));
        let writer =
            hero_logic::store::writer::Writer::start(hero_logic::store::Backend::Redb(store))
                .expect("a writer");
        let owned = sid.clone();
        writer
            .durable(move |snapshot| {
                let old = snapshot.play(&owned)?.expect("the play is stored");
                let mut play = old.clone();
                play.status = hero_logic::model::PlayStatus::Running;
                play.ended_at = None;
                play.timeout_s = Some(1e20);
                Ok::<_, hero_logic::store::StoreError>(hero_logic::store::writer::Plan::new(
                    move |tx| tx.put_play(Some(&old), &play),
                ))
            })
            .wait()
            .expect("the play is rewritten");
    }
    env.start();
    wait_until(
        "the recovered play ends in success",
        Duration::from_secs(30),
        || env.rpc("play_get", json!({"play_sid": sid}))["status"] == "success",
    );
    let log = std::fs::read_to_string(env.data_dir.join("server.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}

// ---------------------------------------------------------------------------
// A stale socket.

/// A listener left on the socket path that takes connections and drops
/// each with the request unread, so that the client's next read gets
/// ECONNRESET: what a server in the middle of dying from `kill -9` does.
fn resetting_listener(socket: &Path) -> std::thread::JoinHandle<()> {
    std::fs::create_dir_all(socket.parent().expect("a socket folder")).expect("the folder");
    let listener = UnixListener::bind(socket).expect("the stale listener binds");
    listener.set_nonblocking(true).expect("non-blocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    // Read a byte of the request, then close with the rest
                    // unread: the kernel answers with a reset.
                    stream.set_nonblocking(false).expect("blocking");
                    let _ = stream.read(&mut [0u8; 1]);
                    drop(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    })
}

#[test]
fn start_goes_on_when_the_socket_resets_connections_as_a_dying_server_does() {
    let env = TestEnv::new();
    let _stale = resetting_listener(&env.socket());
    env.ok(["start"]);
    let status = env.status();
    assert_eq!(status["running"], json!(true), "{status}");
    let play = env.json([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--wait",
        "--json",
    ]);
    assert_eq!(play["status"], "success", "{play}");
}

#[test]
fn a_command_autostarts_the_server_when_the_socket_resets_connections() {
    let env = TestEnv::new();
    let _stale = resetting_listener(&env.socket());
    let play = env.json([
        "play",
        "start",
        &path_arg(&flow("steps.py")),
        "--wait",
        "--json",
    ]);
    assert_eq!(play["status"], "success", "{play}");
}

// ---------------------------------------------------------------------------
// The property test of framing and dispatch.

/// Every error code the server may answer with (SPEC §3), except `-32603`:
/// an internal error is a bug.
const CODES: [i64; 8] = [
    -32700, -32600, -32601, -32602, -32001, -32002, -32003, -32004,
];

/// Every method but `server_shutdown`, which would end the test's server.
const METHODS: [&str; 24] = [
    "info",
    "rpc.discover",
    "workflow_save",
    "workflow_get",
    "workflow_list",
    "workflow_source",
    "workflow_resolve",
    "play_start",
    "play_run_async",
    "play_get",
    "play_list",
    "play_wait",
    "play_spans",
    "play_logs",
    "play_cancel",
    "play_resume",
    "play_pending_resumes",
    "play_restart",
    "subscribe",
    "span_event",
    "spans_replayed",
    "step_output",
    "pause",
    "run_result",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(json!("steps")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("play_sid".to_owned()),
                    Just("workflow_sid".to_owned()),
                    Just("timeout_s".to_owned()),
                    Just("timeout_ms".to_owned()),
                    Just("input_data".to_owned()),
                    Just("limit".to_owned()),
                    Just("run".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request line: a well-formed call with arbitrary params, a JSON value
/// of any shape, or arbitrary bytes.
fn request_line() -> impl Strategy<Value = Vec<u8>> {
    let call = (
        prop_oneof![
            proptest::sample::select(METHODS.to_vec()).prop_map(str::to_owned),
            "[a-z_.]{0,12}"
        ],
        json_value(),
        prop_oneof![Just(json!(1)), Just(Value::Null), json_value()],
        any::<bool>(),
    )
        .prop_map(|(method, params, id, with_id)| {
            let mut request = json!({"jsonrpc": "2.0", "method": method, "params": params});
            if with_id {
                request["id"] = id;
            }
            request.to_string().into_bytes()
        });
    prop_oneof![
        4 => call,
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
    .prop_map(|mut line| {
        line.retain(|b| *b != b'\n');
        line.push(b'\n');
        line
    })
}

/// Sends one line and then `info` under an id of its own on a fresh
/// connection; checks that every line before `info`'s answer is a
/// well-formed JSON-RPC answer or notification with a known code.
fn check_line(env: &TestEnv, line: &[u8]) -> Result<(), TestCaseError> {
    const SENTINEL: &str = "sentinel-7f3a";
    let mut wire = Wire::open(env);
    wire.send(line);
    wire.send(
        format!(
            "{}\n",
            json!({"jsonrpc": "2.0", "id": SENTINEL, "method": "info"})
        )
        .as_bytes(),
    );
    let mut answers = 0;
    loop {
        let message = wire.read();
        prop_assert_eq!(&message["jsonrpc"], &json!("2.0"), "{}", message);
        if message["id"] == json!(SENTINEL) {
            prop_assert!(message["result"]["pid"].is_number(), "{}", message);
            break;
        }
        if message.get("method").is_some() {
            continue;
        }
        answers += 1;
        let has_result = message.get("result").is_some();
        let error = message.get("error");
        prop_assert!(has_result != error.is_some(), "{}", message);
        if let Some(error) = error {
            let code = error["code"].as_i64();
            prop_assert!(
                code.is_some_and(|c| CODES.contains(&c)),
                "unexpected code in {}",
                message
            );
            prop_assert!(error["message"].is_string(), "{}", message);
        }
    }
    prop_assert!(answers <= 1, "{} answers to one line", answers);
    Ok(())
}

/// Cases to run: `PROPTEST_CASES`, else a few for CI.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

#[test]
fn any_request_line_gets_a_well_formed_answer_and_the_server_stays_up() {
    let env = TestEnv::new();
    env.ok(["workflow", "save", &path_arg(&flow("steps.py"))]);
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let started = Instant::now();
    proptest::test_runner::TestRunner::new(config)
        .run(&request_line(), |line| check_line(&env, &line))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{} cases in {:?}", cases(), started.elapsed());
    let info = Wire::open(&env).call(1, "info", json!({}));
    assert!(
        info["result"]["pid"].is_number(),
        "the server is still up: {info}"
    );
}

// ---------------------------------------------------------------------------
// Big integers.

#[test]
fn integers_beyond_64_bits_round_trip_exactly_through_a_play() {
    const N: &str = "123456789012345678901234567890";
    // -2^70
    const M: &str = "-1180591620717411303424";
    // A payload under the pause's `minimum: 0`, and one over 2^64.
    const NEGATIVE: &str = "-36893488147419103232";
    const ANSWER: &str = "98765432109876543210987654321";
    let env = TestEnv::new();
    let input = format!(r#"{{"n": {N}, "m": {M}}}"#);
    let sid = env
        .ok([
            "play",
            "start",
            &path_arg(&flow("big_ints.py")),
            "--input",
            &input,
        ])
        .trim()
        .to_owned();
    let mut wire = Wire::open(&env);
    let paused = wire.call(
        1,
        "play_wait",
        json!({"play_sid": sid, "timeout_ms": 30_000}),
    );
    assert_eq!(paused["result"]["status"], "awaiting_resume", "{paused}");
    let resume_id = paused["result"]["pending_resumes"][0]["id"]
        .as_str()
        .expect("a pending resume")
        .to_owned();
    let resume = |id: u64, payload: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"play_resume","params":{{"play_sid":"{sid}","resume_id":"{resume_id}","payload_json":{payload}}}}}"#
        )
    };
    wire.send(format!("{}\n", resume(2, NEGATIVE)).as_bytes());
    let refused = wire.read();
    assert_eq!(
        code(&refused),
        Some(-32003),
        "the schema sees the sign: {refused}"
    );
    wire.send(format!("{}\n", resume(3, ANSWER)).as_bytes());
    let resumed = wire.read();
    assert!(resumed.get("result").is_some(), "{resumed}");
    let done = wire.call(
        4,
        "play_wait",
        json!({"play_sid": sid, "timeout_ms": 30_000}),
    );
    assert_eq!(done["result"]["status"], "success", "{done}");
    // Compared as text: a JSON reader of 64-bit numbers would round them.
    let text = |value: &Value| value.to_string();
    let result = &done["result"];
    assert_eq!(text(&result["input_data"]["n"]), N);
    assert_eq!(text(&result["input_data"]["m"]), M);
    let output = &result["output_data"];
    assert_eq!(text(&output["n"]), N);
    assert_eq!(text(&output["m"]), M);
    assert_eq!(text(&output["doubled"]), "246913578024691357802469135780");
    assert_eq!(text(&output["answer"]), ANSWER);
    assert_eq!(text(&output["sum"]), "222222221122222222112222222211");
    let shown = env.ok(["play", "show", &sid, "--json"]);
    assert!(shown.contains(N) && shown.contains(M), "{shown}");
}
