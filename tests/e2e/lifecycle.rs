//! End-to-end tests of the server's lifecycle: `server start/status/stop`
//! and autostart, the manifest (`--info`), `rpc.discover`, the banner, one
//! server per data folder and per socket, and the socket's permissions.
//!
//! Each test owns a [`TestEnv`], so they all run in parallel. None of them
//! sleeps to synchronise; they wait on conditions with a deadline.

use std::collections::HashSet;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::{GONE_WITHIN, TestEnv, path_arg, process_gone, wait_until};

/// Whether `text` holds `number` as a whole number, not inside another.
fn mentions_number(text: &str, number: u64) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|word| word == number.to_string())
}

#[test]
fn start_status_stop_and_autostart() {
    let env = TestEnv::new();
    assert_eq!(
        env.status()["running"],
        false,
        "no server before the first command"
    );

    // With autostart off, a client command fails and starts nothing.
    let mut cmd = env.cmd();
    cmd.args(["workflow", "list"])
        .env("HERO_LOGIC_NO_AUTOSTART", "1");
    let out = env.output(
        &mut cmd,
        "HERO_LOGIC_NO_AUTOSTART=1 hero_logic workflow list".into(),
    );
    assert!(out.code.is_some_and(|c| c != 0), "{out}");
    assert!(out.stderr.starts_with("error: "), "{out}");
    assert_eq!(env.status()["running"], false);

    // Any client command starts the server.
    assert_eq!(env.json(["workflow", "list", "--json"]), json!([]));
    let status = env.status();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(
        status["pid"].as_u64(),
        env.server_pid().map(u64::from),
        "{status}"
    );
    assert_eq!(status["socket"], path_arg(&env.socket()));
    assert_eq!(status["data_dir"], path_arg(&env.data_dir));
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(status["uptime_s"].is_number(), "{status}");
    let backend = if env.database_url.is_some() {
        "postgres"
    } else {
        "redb"
    };
    assert_eq!(status["backend"], backend, "{status}");

    env.stop();
    assert_eq!(env.status()["running"], false);
    assert_eq!(env.status()["backend"], backend);

    // `--start` and `--stop` are aliases of the subcommands.
    env.ok(["--start"]);
    assert_eq!(env.status()["running"], true);
    let pid = env.server_pid().expect("the lock file names the server");
    env.ok(["--stop"]);
    wait_until("the server has exited after --stop", GONE_WITHIN, || {
        process_gone(pid)
    });
    assert_eq!(env.status()["running"], false);

    env.start();
    assert_eq!(env.status()["running"], true);
}

#[test]
fn info_flag_prints_the_manifest_and_info_check_finds_no_issues() {
    let env = TestEnv::new();
    let info = env.json(["--info"]);
    assert_eq!(info["name"], "hero_logic");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    for key in ["kind", "description", "sockets", "env", "build_nr"] {
        assert!(info.get(key).is_some(), "--info has `{key}`: {info}");
    }
    let backend = if env.database_url.is_some() {
        "postgres"
    } else {
        "redb"
    };
    assert_eq!(info["backend"], backend, "{info}");
    let declared: Vec<&str> = info["env"]
        .as_array()
        .expect("env is an array")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for var in [
        "HERO_SOCKET_DIR",
        "HERO_LOGIC_DATA_DIR",
        "HERO_LOGIC_PYTHON",
        "HERO_LOGIC_NO_AUTOSTART",
    ] {
        assert!(
            declared.contains(&var),
            "the manifest declares {var}: {declared:?}"
        );
    }

    let check = env.ok(["info", "check"]);
    assert!(check.contains("0 issues"), "{check}");

    // The server's `info` method is the manifest plus live facts.
    let live = env.rpc("info", json!({}));
    assert_eq!(live["name"], "hero_logic");
    assert_eq!(live["pid"].as_u64(), env.server_pid().map(u64::from));
    assert_eq!(live["socket"], path_arg(&env.socket()));
    assert_eq!(live["data_dir"], path_arg(&env.data_dir));
}

#[test]
fn rpc_discover_lists_every_method() {
    let env = TestEnv::new();
    let doc = env.rpc("rpc.discover", json!({}));
    let methods: HashSet<&str> = doc["methods"]
        .as_array()
        .unwrap_or_else(|| panic!("an OpenRPC document has `methods`: {doc}"))
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for method in [
        "info",
        "workflow_save",
        "workflow_get",
        "workflow_list",
        "workflow_source",
        "play_start",
        "play_get",
        "play_list",
        "play_wait",
        "play_spans",
        "play_logs",
        "play_cancel",
        "server_shutdown",
    ] {
        assert!(
            methods.contains(method),
            "rpc.discover lists {method}: {methods:?}"
        );
    }
}

#[test]
fn the_server_banner_names_the_socket_and_the_data_folder() {
    let env = TestEnv::new();
    let mut child = env
        .std_cmd()
        .arg("server")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`hero_logic server` starts");
    // Both streams are read on threads into one buffer, so that neither pipe
    // fills up and the banner may be on either.
    let seen = Arc::new(Mutex::new(String::new()));
    let readers: Vec<_> = [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ]
    .into_iter()
    .map(|stream| {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                let mut seen = seen.lock().expect("the buffer");
                seen.push_str(&line);
                seen.push('\n');
            }
        })
    })
    .collect();

    let socket = path_arg(&env.socket());
    let data = path_arg(&env.data_dir);
    let banner = || seen.lock().expect("the buffer").clone();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(
            "the banner names the socket and the data folder",
            Duration::from_secs(20),
            || {
                let text = banner();
                text.contains(&socket) && text.contains(&data)
            },
        );
    }));
    let _ = env.run(["stop"]);
    let _ = child.kill();
    let _ = child.wait();
    for reader in readers {
        let _ = reader.join();
    }
    assert!(
        found.is_ok(),
        "the banner of `hero_logic server` should name {socket} and {data}; it printed:\n{}",
        banner()
    );
}

/// A second server that shares one of the first's two places — the data
/// folder or the socket — is refused, names the first server's pid, and
/// leaves the first server serving. One row per shared place: the
/// variable that moves the other place elsewhere.
#[test]
fn a_second_server_sharing_a_place_is_refused_naming_the_first_pid() {
    for (shared, other_var, other_dir) in [
        ("the same data folder", "HERO_SOCKET_DIR", "other_sock"),
        ("a live socket", "HERO_LOGIC_DATA_DIR", "other_data"),
    ] {
        let env = TestEnv::new();
        env.start();
        let pid = env.status()["pid"]
            .as_u64()
            .expect("a running server's pid");

        let mut cmd = env.cmd();
        cmd.arg("server")
            .env(other_var, env.scratch(other_dir))
            .timeout(Duration::from_secs(15));
        let out = env.output(
            &mut cmd,
            format!("{other_var}={other_dir} hero_logic server"),
        );
        assert!(
            out.code.is_some_and(|c| c != 0),
            "the second server on {shared} is refused:\n{out}"
        );
        assert!(
            mentions_number(&out.stderr, pid),
            "the refusal on stderr names the first server's pid {pid}:\n{out}"
        );
        assert!(out.stderr.contains("error: "), "{out}");

        // The first server is untouched, and so is its socket.
        let status = env.status();
        assert_eq!(status["running"], true, "{shared}");
        assert_eq!(status["pid"].as_u64(), Some(pid), "{shared}");
        assert!(env.socket().exists(), "the live socket is left alone");
        assert_eq!(env.rpc("info", json!({}))["pid"].as_u64(), Some(pid));
    }
}

#[test]
fn a_stale_socket_is_removed_and_the_server_starts() {
    let env = TestEnv::new();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&env.socket_dir)
        .expect("the socket folder");
    // A socket file that nobody listens on, as a killed server leaves.
    drop(std::os::unix::net::UnixListener::bind(env.socket()).expect("bind"));
    let kind = std::fs::symlink_metadata(env.socket())
        .expect("the stale socket")
        .file_type();
    assert!(kind.is_socket());

    env.start();
    let status = env.status();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(env.rpc("info", json!({}))["pid"], status["pid"]);
}

#[test]
fn the_socket_is_mode_600_in_a_folder_of_mode_700() {
    let env = TestEnv::new();
    env.start();
    let socket = std::fs::metadata(env.socket()).expect("the socket");
    assert!(socket.file_type().is_socket());
    assert_eq!(socket.permissions().mode() & 0o777, 0o600, "socket mode");
    let folder = std::fs::metadata(&env.socket_dir).expect("the socket folder");
    assert_eq!(
        folder.permissions().mode() & 0o777,
        0o700,
        "socket folder mode"
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    for args in [
        &["frobnicate"][..],
        &["play", "start"],
        &["play", "start", "x", "--timeout", "soon"],
    ] {
        let out = env.run(args);
        out.expect_code(2);
        assert!(out.stderr.starts_with("error: "), "{out}");
    }
    assert!(!env.socket().exists(), "a usage error starts no server");
}
