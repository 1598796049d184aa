//! hero_logic: a local-first durable workflow engine with a terminal front
//! end. See ARCHITECTURE.md for the map of these modules.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod env;
pub mod format;
pub mod ids;
pub mod manifest;
pub mod model;
pub mod prompt;
pub mod run_files;
pub mod sdk;
pub mod secret;
pub mod server;
pub mod store;
pub mod tui;
