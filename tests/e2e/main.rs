//! The end-to-end tests: one test binary that runs the built `hero_logic`
//! against a real server on private folders, with real Python flows.

mod api;
mod bad_input;
mod channel;
mod common;
mod lifecycle;
mod newuser;
mod pause;
mod play;
mod prune;
mod runs;
mod schedules;
mod server;
mod shipped;
mod show_time;
mod store;
mod subflow;
mod tmux;
mod tui;
mod zygote;
