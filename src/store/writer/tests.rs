//! The writer's order, group commit and folds, against a real store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::store::Checkpoint;

/// A durable write with nothing to check, waited for on this thread.
fn write_now<T: Send + 'static>(
    writer: &Writer,
    apply: impl FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
) -> Result<T> {
    writer.durable(always(apply)).wait()
}

fn open() -> (tempfile::TempDir, Arc<Store>, Writer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let writer = Writer::start(Backend::Redb(store.clone())).expect("writer");
    (dir, store, writer)
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn output(store: &Store, key: &str) -> Option<serde_json::Value> {
    store.step_outputs("p").expect("read").get(key).cloned()
}

#[test]
fn a_write_now_comes_after_what_was_queued_before_it() {
    let (_dir, store, writer) = open();
    for i in 0..100 {
        writer
            .deferred(always(move |tx| {
                tx.put_checkpoint("p", "k", &i.to_string()).map(drop)
            }))
            .queue();
    }
    let fresh = write_now(&writer, |tx| tx.put_checkpoint("p", "k", "\"last\"")).expect("write");
    assert!(!fresh, "the queued writes were written first");
    eventually("the last write is what readers see", || {
        output(&store, "k") == Some(json!("last"))
    });
}

#[test]
fn what_a_write_now_wrote_is_committed_without_further_writes() {
    let (dir, store, writer) = open();
    write_now(&writer, |tx| tx.put_checkpoint("p", "first", "1")).expect("write");
    // Once the journal is folded into redb, the writer thread sleeps
    // with nothing to do.
    eventually("the journal is empty", || {
        Journal::open(dir.path())
            .expect("journal")
            .expect("a journal")
            .len()
            == 0
    });
    write_now(&writer, |tx| tx.put_checkpoint("p", "k", "1")).expect("write");
    // It must learn of the transaction left open, and commit it once it
    // is due.
    eventually("readers see the write", || output(&store, "k").is_some());
}

#[test]
fn concurrent_write_nows_all_land() {
    let (_dir, store, writer) = open();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let writer = writer.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let key = format!("{t}-{i}");
                    let fresh = write_now(&writer, move |tx| tx.put_checkpoint("p", &key, "true"))
                        .expect("write");
                    assert!(fresh);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a writing thread");
    }
    eventually("readers see all 400 writes", || {
        store.step_outputs("p").expect("read").len() == 400
    });
}

fn steps_done(store: &Store) -> u64 {
    let txn = store.begin_read().expect("read");
    let counts = txn
        .open_table(crate::store::tables::STEP_COUNTS)
        .expect("counts");
    counts.get("p").expect("get").map_or(0, |c| c.value())
}

/// A checkpoint recorded in the journal, written to redb after its answer.
fn checkpoint_then(writer: &Writer, key: &'static str, output: &'static str) {
    write_now(writer, move |tx| {
        let checkpoint = Checkpoint {
            play_sid: "p".into(),
            run: 1,
            step_key: key.into(),
            output: output.into(),
            span: None,
        };
        tx.checkpoint(checkpoint)
    })
    .expect("write");
}

#[test]
fn what_a_checkpoint_left_for_later_comes_before_the_writes_after_it() {
    let (_dir, store, writer) = open();
    checkpoint_then(&writer, "k", "\"later\"");
    write_now(&writer, |tx| tx.put_checkpoint("p", "k", "\"after\"")).expect("write");
    eventually("the write after the checkpoint is what readers see", || {
        output(&store, "k") == Some(json!("after"))
    });
    assert_eq!(
        steps_done(&store),
        1,
        "one step, written twice, counted once"
    );
}

#[test]
fn what_a_checkpoint_left_for_later_is_written_without_a_catch_up() {
    let (_dir, store, writer) = open();
    checkpoint_then(&writer, "k", "1");
    eventually("readers see the checkpoint", || {
        output(&store, "k").is_some()
    });
}

#[test]
fn the_journal_is_folded_only_with_what_was_left_for_later() {
    let (dir, store, writer) = open();
    checkpoint_then(&writer, "k", "1");
    drop(writer);
    eventually("the writer thread ends", || Arc::strong_count(&store) == 1);
    assert_eq!(
        Journal::open(dir.path())
            .expect("journal")
            .expect("a journal")
            .len(),
        0
    );
    assert_eq!(output(&store, "k"), Some(json!(1)));
}

#[test]
fn the_last_handle_dropped_stops_the_writer_with_the_journal_folded() {
    let (dir, store, writer) = open();
    write_now(&writer, |tx| tx.put_checkpoint("p", "k", "1")).expect("write");
    assert!(
        Journal::open(dir.path())
            .expect("journal")
            .expect("a journal")
            .len()
            > 0
    );
    drop(writer);
    // The thread held the other reference to the store until it ended.
    eventually("the writer thread ends", || Arc::strong_count(&store) == 1);
    assert_eq!(
        Journal::open(dir.path())
            .expect("journal")
            .expect("a journal")
            .len(),
        0
    );
    assert_eq!(output(&store, "k"), Some(json!(1)));
}

#[test]
fn a_refused_job_writes_nothing_and_the_rest_of_its_batch_commits() {
    let (_dir, store, writer) = open();
    let put = |key: &'static str| {
        writer
            .deferred(always(move |tx| tx.put_checkpoint("p", key, "1").map(drop)))
            .queue();
    };
    {
        // Nobody writes while the state is held: the three are one batch.
        let _held = lock(&writer.shared().redb.as_ref().expect("a redb writer").state);
        put("before");
        let refused = writer.deferred(|snapshot| {
            snapshot.play_state("p")?;
            Err::<Plan<()>, _>(StoreError::WriterGone)
        });
        refused.queue();
        put("after");
    }
    eventually("the batch is committed", || {
        output(&store, "before").is_some() && output(&store, "after").is_some()
    });
    assert_eq!(store.step_outputs("p").expect("read").len(), 2);
}
