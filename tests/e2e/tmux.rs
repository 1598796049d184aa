//! A tmux server of a test's own, for the terminal programs the end-to-end
//! tests drive with keys and read back with `capture-pane`: the dashboard,
//! the interactive `resume`, shells that complete words.
//!
//! tmux must be installed (`.ci/run` installs it where it is missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::TestEnv;

/// One detached session `hl`, on a socket in the test's temporary folder,
/// so the user's tmux is never touched. Dropping it kills that server and
/// every process in it.
pub struct Session {
    socket: PathBuf,
}

impl Session {
    /// Runs `program` in a `width`×`height` session with the test's folders
    /// and no autostart in its environment, plus `extra_env` (`VAR=value`).
    /// The pane stays once the program ends (tmux was seen to mark such a
    /// pane dead and never report a status), so its last words can be read.
    pub fn start(
        env: &TestEnv,
        width: u16,
        height: u16,
        extra_env: &[&str],
        program: &[&str],
    ) -> Session {
        let session = Session {
            socket: env.scratch("tmux.sock"),
        };
        let folder = |var: &str, path: &Path| format!("{var}={}", path.display());
        let (width, height) = (width.to_string(), height.to_string());
        let (socket_dir, data_dir) = (
            folder("HERO_SOCKET_DIR", &env.socket_dir),
            folder("HERO_LOGIC_DATA_DIR", &env.data_dir),
        );
        let mut args = vec![
            "new-session",
            "-d",
            "-s",
            "hl",
            "-x",
            &width,
            "-y",
            &height,
            "-e",
            &socket_dir,
            "-e",
            &data_dir,
            "-e",
            "HERO_LOGIC_NO_AUTOSTART=1",
        ];
        for var in extra_env {
            args.extend(["-e", var]);
        }
        args.extend_from_slice(program);
        args.extend([";", "set-option", "-t", "hl", "remain-on-exit", "on"]);
        let out = session.run(&args);
        assert!(
            out.status.success(),
            "tmux could not start {program:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        session
    }

    /// `tmux ARGS` against this test's own server.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed (apt-get install tmux)")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
