//! End-to-end tests of what ships beside the binary: the hello example, the
//! SDK inside the binary, the shell completions, and commands whose reader
//! goes away.

use serde_json::json;

use crate::common::{self, TestEnv, repo_path};

#[test]
fn the_hello_example_runs_to_success() {
    let env = TestEnv::new();
    // run.sh finds its flow next to itself, so it may run from anywhere; the
    // server starts by itself on the first command.
    let mut run = env.command("bash");
    run.arg(repo_path("examples/hello/run.sh"))
        .arg("Ada")
        .env("HERO_LOGIC", common::BIN);
    // As a newcomer runs it: with the interpreter they configured, if any,
    // not the one the harness resolved for speed.
    match std::env::var_os("HERO_LOGIC_PYTHON") {
        Some(python) => run.env("HERO_LOGIC_PYTHON", python),
        None => run.env_remove("HERO_LOGIC_PYTHON"),
    };
    let out = env.output(
        &mut run,
        "HERO_LOGIC=target/.../hero_logic bash examples/hello/run.sh Ada".into(),
    );
    out.expect_code(0);
    let play = out.json();
    assert_eq!(play["status"], "success", "{out}");
    assert_eq!(
        play["output_data"],
        json!({"greeting": "Hello, Ada!", "letters": 3, "vowels": 2})
    );
}

#[test]
fn sdk_path_points_at_the_sdk_shipped_in_the_binary() {
    let env = TestEnv::new();
    let printed = env.ok(["sdk", "path"]);
    // The folder to put on PYTHONPATH, which holds the package.
    let package = std::path::PathBuf::from(printed.trim()).join("hero_tracing");
    let source = repo_path("sdk/python/hero_tracing");
    let modules = |folder: &std::path::Path| -> Vec<String> {
        let entries = std::fs::read_dir(folder).unwrap_or_else(|e| {
            panic!(
                "`sdk path` printed {printed:?}, but {} cannot be read: {e}",
                folder.display()
            )
        });
        let mut names: Vec<String> = entries
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".py"))
            .collect();
        names.sort();
        names
    };
    let names = modules(&source);
    assert!(!names.is_empty(), "the SDK's source has Python files");
    assert_eq!(
        modules(&package),
        names,
        "the package shipped is the SDK's source, file by file"
    );
    for name in names {
        let shipped = std::fs::read_to_string(package.join(&name)).expect("a shipped file");
        let expected = std::fs::read_to_string(source.join(&name)).expect("the SDK source");
        assert!(
            shipped == expected,
            "{} is not sdk/python/hero_tracing/{name}",
            package.join(&name).display()
        );
    }
}

#[test]
fn a_reader_that_goes_away_ends_a_command_quietly() {
    let env = TestEnv::new();
    for args in [
        vec!["--info"],
        vec!["completions", "bash"],
        vec!["workflow", "list", "--json"],
    ] {
        // A pipe whose reader is gone before the command writes a byte:
        // every write to it fails, as `| head` makes the writes after its
        // first lines fail.
        let (reader, writer) = nix::unistd::pipe().expect("a pipe");
        drop(reader);
        let out = env
            .std_cmd()
            .args(&args)
            .stdout(std::process::Stdio::from(writer))
            .output()
            .expect("hero_logic runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn committed_completions_are_up_to_date() {
    let env = TestEnv::new();
    let mut stale = Vec::new();
    for (shell, file) in [
        ("bash", "completions/hero_logic.bash"),
        ("zsh", "completions/_hero_logic"),
        ("fish", "completions/hero_logic.fish"),
    ] {
        let generated = env.ok(["completions", shell]);
        let Ok(committed) = std::fs::read_to_string(repo_path(file)) else {
            stale.push((format!("{file} is missing"), shell, file));
            continue;
        };
        if generated != committed {
            let line = generated
                .lines()
                .zip(committed.lines())
                .position(|(g, c)| g != c)
                .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()))
                + 1;
            stale.push((format!("{file} differs from line {line} on"), shell, file));
        }
    }
    assert!(
        stale.is_empty(),
        "the committed shell completions are stale:\n  {}\nregenerate them with:\n  {}",
        stale
            .iter()
            .map(|(why, _, _)| why.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        stale
            .iter()
            .map(|(_, shell, file)| format!("cargo run -- completions {shell} > {file}"))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
