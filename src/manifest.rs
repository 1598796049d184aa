//! The service manifest, `service.toml`, compiled into the binary.
//!
//! The banner, `--info` and `info check` are all printed from this one
//! parsed value, so they cannot disagree with each other or with the file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::env;

const SOURCE: &str = include_str!("../service.toml");

/// The name of the socket file inside the socket folder.
pub const SOCKET_FILE: &str = "hero_logic.sock";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub kind: String,
    pub description: String,
    pub sockets: Vec<SocketDecl>,
    pub env: Vec<EnvDecl>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketDecl {
    pub name: String,
    pub path: String,
    pub protocol: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvDecl {
    pub name: String,
    pub default: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
#[error("service.toml compiled into this binary is invalid: {0}")]
pub struct ManifestError(#[from] toml::de::Error);

/// Parses the compiled-in manifest: the first step of every entry point.
pub fn validate_service_toml() -> Result<Manifest, ManifestError> {
    Ok(toml::from_str(SOURCE)?)
}

impl Manifest {
    /// The `--info` document: the manifest's own keys plus `build_nr`.
    pub fn info_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("the manifest is plain data");
        value["build_nr"] = serde_json::json!(env::BUILD_NR);
        value
    }

    /// Everything on which the manifest and this binary disagree.
    pub fn check(&self) -> Vec<String> {
        let mut issues = Vec::new();
        if self.name != env!("CARGO_PKG_NAME") {
            issues.push(format!(
                "name: manifest says `{}`, the binary is `{}`",
                self.name,
                env!("CARGO_PKG_NAME")
            ));
        }
        if self.version != env!("CARGO_PKG_VERSION") {
            issues.push(format!(
                "version: manifest says {}, the binary is {}",
                self.version,
                env!("CARGO_PKG_VERSION")
            ));
        }
        if !self.sockets.iter().any(|s| s.name == SOCKET_FILE) {
            issues.push(format!(
                "sockets: the binary listens on `{SOCKET_FILE}`, which the manifest does not declare"
            ));
        }
        for socket in &self.sockets {
            if socket.name != SOCKET_FILE {
                issues.push(format!(
                    "sockets: `{}` is declared but the binary has no such socket",
                    socket.name
                ));
            }
        }
        for name in env::READ {
            if !self.env.iter().any(|e| e.name == *name) {
                issues.push(format!("env: `{name}` is read but not declared"));
            }
        }
        for decl in &self.env {
            if !env::READ.contains(&decl.name.as_str()) {
                issues.push(format!("env: `{}` is declared but never read", decl.name));
            }
        }
        issues
    }

    /// The server's start-up banner.
    pub fn banner(&self, socket: &Path, data_dir: &Path, pid: u32) -> String {
        let build = env::BUILD_NR
            .map(|b| format!(" build {b}"))
            .unwrap_or_default();
        let mut out = format!(
            "{} {}{} ({}) — {}\n",
            self.name, self.version, build, self.kind, self.description
        );
        for s in &self.sockets {
            out.push_str(&format!(
                "  socket  {} ({})\n",
                socket.display(),
                s.protocol
            ));
        }
        out.push_str(&format!("  data    {}\n", data_dir.display()));
        out.push_str(&format!("  pid     {pid}\n"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_manifest_agrees_with_the_binary() {
        let manifest = validate_service_toml().expect("service.toml parses");
        assert_eq!(manifest.check(), Vec::<String>::new());
    }
}
