//! Where things are: the socket and data folders, resolved once from the
//! environment before any work is done, and shared by server and client.

use std::path::PathBuf;

use crate::env;
use crate::manifest::SOCKET_FILE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub socket_dir: PathBuf,
    pub socket: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn resolve() -> Paths {
        let socket_dir = env::socket_dir();
        Paths {
            socket: socket_dir.join(SOCKET_FILE),
            socket_dir,
            data_dir: env::data_dir(),
        }
    }

    /// Where a background server started by `hero_logic start` writes.
    pub fn server_log(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }
}
