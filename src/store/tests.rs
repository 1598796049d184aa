//! The store across a restart: migration and what the journal gives back.

use std::sync::Arc;

use redb::Database;

use super::journal::tests::batch;
use super::journal::{Journal, Op};
use super::writer::{Writer, always};
use super::{Backend, SCHEMA_VERSION, Store, tables};
use crate::tui::fixtures;

fn checkpoint(key: &str) -> Op {
    Op::StepOutput {
        sid: "p".into(),
        key: key.into(),
        json: "1".into(),
    }
}

/// A store holding play `p`, closed with its journal folded in.
fn store_with_play(dir: &std::path::Path) {
    let store = Arc::new(Store::open(dir).expect("store"));
    let writer = Writer::start(Backend::Redb(store.clone())).expect("writer");
    writer
        .durable(always(|tx| tx.put_play(None, &fixtures::play("p"))))
        .wait()
        .expect("write the play");
    drop(writer);
    while Arc::strong_count(&store) > 1 {
        std::thread::yield_now();
    }
}

#[test]
fn a_version_1_store_keeps_its_step_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let db = Database::create(dir.path().join(super::DB_FILE)).expect("redb");
        let txn = db.begin_write().expect("begin");
        {
            let mut meta = txn.open_table(tables::META).expect("meta");
            meta.insert("schema_version", "1").expect("version");
            let mut play = fixtures::play("p");
            play.steps_done = 3;
            let text = serde_json::to_string(&play).expect("json");
            let mut plays = txn.open_table(tables::PLAYS).expect("plays");
            plays.insert("p", text.as_str()).expect("play");
        }
        txn.commit().expect("commit");
    }
    let store = Store::open(dir.path()).expect("the store opens and migrates");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.play("p").expect("read").expect("p").steps_done, 3);
    let listed = store.plays(&Default::default()).expect("list");
    assert_eq!(listed[0].steps_done, 3);
}

#[test]
fn journaled_checkpoints_are_counted_once_each_on_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    store_with_play(dir.path());
    let mut journal = Journal::open(dir.path())
        .expect("journal")
        .expect("a journal");
    journal
        .append(batch(&[checkpoint("a"), checkpoint("b")]))
        .expect("append");
    // The same step again, as a replayed run may checkpoint it.
    journal.append(batch(&[checkpoint("a")])).expect("append");
    journal.sync().expect("sync");
    drop(journal);
    let store = Store::open(dir.path()).expect("the store opens and replays");
    assert_eq!(store.step_outputs("p").expect("outputs").len(), 2);
    assert_eq!(store.play("p").expect("read").expect("p").steps_done, 2);
}

#[test]
fn a_pruned_play_stays_gone_when_the_journal_is_applied_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    store_with_play(dir.path());
    only_in_the_journal(
        dir.path(),
        &[
            checkpoint("a"),
            Op::PlayDeleted("p".into()),
            // A record of a play already gone is applied as nothing.
            Op::PlayDeleted("p".into()),
        ],
    );
    let store = Store::open(dir.path()).expect("the store opens and replays");
    assert_eq!(store.play("p").expect("read"), None);
    assert!(store.step_outputs("p").expect("outputs").is_empty());
    let left: Vec<String> = store
        .dump()
        .expect("dump")
        .into_iter()
        .filter(|record| record.contains("\"p\""))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_journal_from_before_step_counts_keeps_its_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    store_with_play(dir.path());
    let mut play = fixtures::play("p");
    play.steps_done = 5;
    only_in_the_journal(
        dir.path(),
        &[Op::Play(serde_json::to_string(&play).expect("json"))],
    );
    let store = Store::open(dir.path()).expect("the store opens and replays");
    assert_eq!(store.play("p").expect("read").expect("p").steps_done, 5);
}

#[test]
fn a_page_of_logs_goes_on_across_runs_after_any_seq() {
    use crate::model::{LogLine, LogStream};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let writer = Writer::start(Backend::Redb(store.clone())).expect("writer");
    let lines = [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (4, 6)];
    writer
        .durable(always(move |tx| {
            lines.iter().try_for_each(|&(run, seq)| {
                let line = LogLine {
                    run,
                    seq,
                    stream: LogStream::Stdout,
                    line: format!("line {seq}"),
                    at: "t".into(),
                };
                tx.put_log("p", &line)
            })
        }))
        .wait()
        .expect("write the lines");
    // Closing the writer commits what it holds open.
    drop(writer);
    while Arc::strong_count(&store) > 1 {
        std::thread::yield_now();
    }
    let seqs = |run, after, limit| -> Vec<u64> {
        store
            .logs("p", run, after, limit)
            .expect("a page")
            .iter()
            .map(|l| l.seq)
            .collect()
    };
    assert_eq!(seqs(None, None, 100), [1, 2, 3, 4, 5, 6]);
    assert_eq!(seqs(None, Some(2), 3), [3, 4, 5]);
    assert_eq!(seqs(None, Some(5), 3), [6]);
    assert_eq!(seqs(None, Some(6), 3), Vec::<u64>::new());
    assert_eq!(seqs(Some(2), None, 100), [4, 5]);
    assert_eq!(seqs(Some(3), None, 100), Vec::<u64>::new());
}

#[test]
fn schedules_and_idempotency_keys_come_back_from_the_journal() {
    use crate::model::{Catchup, Overlap, Schedule};
    let dir = tempfile::tempdir().expect("temp dir");
    store_with_play(dir.path());
    let schedule = |name: &str| Schedule {
        name: name.into(),
        workflow_sid: "w-approve".into(),
        cron: None,
        every_s: Some(60),
        tz: None,
        input_data: serde_json::json!({}),
        prefill_resumes: Default::default(),
        overlap: Overlap::Skip,
        catchup: Catchup::Latest,
        paused: false,
        next_fire_at: Some("2026-11-02T10:01:00Z".into()),
        last_fire_at: Some("2026-11-02T10:00:00Z".into()),
        last_play_sid: Some("q".into()),
        created_at: "2026-11-02T09:00:00Z".into(),
    };
    let mut play = fixtures::play("q");
    play.schedule = Some("s".into());
    play.idempotency_key = Some("schedule:s:2026-11-02T10:00:00Z".into());
    fn json(value: &impl serde::Serialize) -> String {
        serde_json::to_string(value).expect("json")
    }
    only_in_the_journal(
        dir.path(),
        &[
            Op::Play(json(&play)),
            Op::Schedule(json(&schedule("s"))),
            Op::Schedule(json(&schedule("gone"))),
            Op::ScheduleDeleted(json(&"gone")),
        ],
    );
    let store = Arc::new(Store::open(dir.path()).expect("the store opens and replays"));
    assert_eq!(store.schedules().expect("list"), [schedule("s")]);
    assert_eq!(store.schedule("gone").expect("read"), None);
    let writer = Writer::start(Backend::Redb(store.clone())).expect("writer");
    let found = writer
        .durable(|snapshot: &super::Snapshot<'_>| {
            let key = "schedule:s:2026-11-02T10:00:00Z";
            Ok::<_, super::StoreError>(super::writer::Plan::nothing((
                snapshot.idempotent_play("w-approve", key)?,
                snapshot.idempotent_play("w-other", key)?,
            )))
        })
        .wait()
        .expect("read the index");
    assert_eq!(
        found,
        (Some("q".to_owned()), None),
        "keyed by workflow and key"
    );
}

#[test]
fn the_timer_index_follows_the_open_timers_and_comes_back_from_the_journal() {
    use crate::model::{PlayStatus, ResumeKind, ResumeRequest};
    let dir = tempfile::tempdir().expect("temp dir");
    store_with_play(dir.path());
    let wake = "2026-12-04T18:00:03.5Z";
    let mut parked = fixtures::play("p");
    parked.status = PlayStatus::AwaitingResume;
    parked.pending_resumes.push(ResumeRequest {
        kind: ResumeKind::Timer,
        wake_at: Some(wake.into()),
        ..serde_json::from_value(serde_json::json!({
            "id": "t", "name": "sleep", "schema": null, "ui": null,
            "asked_at_span_id": null, "asked_at": "t", "payload": null, "resumed_at": null
        }))
        .expect("a ResumeRequest")
    });
    // Only the journal holds the parked play, as after a kill -9.
    only_in_the_journal(
        dir.path(),
        &[Op::Play(serde_json::to_string(&parked).expect("json"))],
    );
    let store = Arc::new(Store::open(dir.path()).expect("the store opens and replays"));
    let due = super::due_micros(wake).expect("a time");
    assert_eq!(
        store.timers(10).expect("the index"),
        [(due, "p".to_owned(), "t".to_owned())]
    );

    // Answered, the timer leaves the index in the same write.
    let writer = Writer::start(Backend::Redb(store.clone())).expect("writer");
    let mut woken = parked.clone();
    woken.status = PlayStatus::Running;
    woken.answered_resumes = std::mem::take(&mut woken.pending_resumes);
    writer
        .durable(always(move |tx| tx.put_play(Some(&parked), &woken)))
        .wait()
        .expect("write the answer");
    // Closing the writer commits what it holds open.
    drop(writer);
    assert_eq!(store.timers(10).expect("the index"), []);
}

#[test]
fn pause_tokens_and_http_keys_come_back_from_the_journal() {
    use crate::model::{HttpKey, ResumeRequest};
    let dir = tempfile::tempdir().expect("temp dir");
    store_with_play(dir.path());
    let key = |id: &str| super::KeyRecord {
        key: HttpKey {
            id: id.into(),
            label: Some("ci".into()),
            created_at: "2026-11-02T09:00:00Z".into(),
            last_used_at: None,
        },
        digest: "ab".repeat(32),
    };
    let mut play = fixtures::play("q");
    let mut pause: ResumeRequest = serde_json::from_value(serde_json::json!({
        "id": "r1", "name": "paid", "schema": null, "ui": null, "asked_at_span_id": null,
        "asked_at": "2026-11-02T09:00:00Z", "payload": null, "resumed_at": null,
    }))
    .expect("a pause");
    pause.token = Some("tok".into());
    play.pending_resumes = vec![pause];
    fn json(value: &impl serde::Serialize) -> String {
        serde_json::to_string(value).expect("json")
    }
    only_in_the_journal(
        dir.path(),
        &[
            Op::Play(json(&play)),
            Op::HttpKey(json(&key("k1"))),
            Op::HttpKey(json(&key("k2"))),
            Op::HttpKeyDeleted(json(&"k2")),
        ],
    );
    let store = Store::open(dir.path()).expect("the store opens and replays");
    assert_eq!(store.http_keys().expect("keys"), [key("k1")]);
    assert_eq!(
        store.resume_token("tok").expect("a read"),
        Some(("q".to_owned(), "r1".to_owned()))
    );
    assert_eq!(store.resume_token("other").expect("a read"), None);
}

/// Writes `ops` as one synced batch of the journal alone, as a server
/// killed with -9 before its fold leaves them.
fn only_in_the_journal(dir: &std::path::Path, ops: &[Op]) {
    let mut journal = Journal::open(dir).expect("journal").expect("a journal");
    journal.append(batch(ops)).expect("append");
    journal.sync().expect("sync");
}
