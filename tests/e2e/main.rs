//! The end-to-end tests: one test binary that runs the built `hero_logic`
//! against a real server on private folders, with real Python flows.

mod api;
mod bad_input;
mod channel;
mod common;
mod http;
mod kill;
mod lifecycle;
mod newuser;
mod pause;
mod pgcluster;
mod play;
mod prune;
mod runs;
mod schedules;
mod server;
mod shipped;
mod show_time;
mod signals;
mod starts;
mod store;
mod subflow;
mod time;
mod tmux;
mod tui;
mod workers;
mod zygote;
