//! The end-to-end suite again, against the PostgreSQL backend: the same
//! test files (a matrix, not a copy), each test with a database of its own
//! in a throwaway cluster (see `pgcluster.rs`). Where PostgreSQL is not
//! installed the tests run on redb, saying so, unless
//! `HERO_TEST_REQUIRE_POSTGRES=1` (as `.ci/run` sets) makes that a failure.

#[path = "../e2e/api.rs"]
mod api;
#[path = "../e2e/bad_input.rs"]
mod bad_input;
#[path = "../e2e/channel.rs"]
mod channel;
#[path = "../e2e/common.rs"]
mod common;
#[path = "../e2e/http.rs"]
mod http;
#[path = "../e2e/kill.rs"]
mod kill;
#[path = "../e2e/lifecycle.rs"]
mod lifecycle;
#[path = "../e2e/newuser.rs"]
mod newuser;
#[path = "../e2e/pause.rs"]
mod pause;
#[path = "../e2e/pgcluster.rs"]
mod pgcluster;
#[path = "../e2e/play.rs"]
mod play;
#[path = "../e2e/prune.rs"]
mod prune;
#[path = "../e2e/runs.rs"]
mod runs;
#[path = "../e2e/schedules.rs"]
mod schedules;
#[path = "../e2e/server.rs"]
mod server;
#[path = "../e2e/shipped.rs"]
mod shipped;
#[path = "../e2e/show_time.rs"]
mod show_time;
#[path = "../e2e/signals.rs"]
mod signals;
#[path = "../e2e/starts.rs"]
mod starts;
#[path = "../e2e/store.rs"]
mod store;
#[path = "../e2e/subflow.rs"]
mod subflow;
#[path = "../e2e/time.rs"]
mod time;
#[path = "../e2e/tmux.rs"]
mod tmux;
#[path = "../e2e/tui.rs"]
mod tui;
#[path = "../e2e/workers.rs"]
mod workers;
#[path = "../e2e/zygote.rs"]
mod zygote;
