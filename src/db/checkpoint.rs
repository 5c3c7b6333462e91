//! Checkpoints: the checkpointer thread that copies the WAL into the database file as
//! the server runs, and `Db::checkpoint`, the complete one a clean stop ends with.

use std::time::Duration;

use rusqlite::Connection;

use super::writer::Job;
use super::Db;
use crate::error::ApiError;

impl Db {
    /// Folds the WAL back into the main file so the `.db` file alone is complete.
    pub fn checkpoint(&self) -> Result<(), ApiError> {
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        let run = Box::new(move |conn: &Connection| {
            // The checkpointer thread may hold the checkpoint lock for a moment: retry
            // until the WAL is copied and truncated.
            let mut r = Err(CheckpointError::StayedBusy);
            for _ in 0..200 {
                match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                    row.get::<_, i64>(0)
                }) {
                    Ok(0) => {
                        r = Ok(());
                        break;
                    }
                    Ok(_) => std::thread::sleep(Duration::from_millis(25)),
                    Err(e) => {
                        r = Err(CheckpointError::Failed(e));
                        break;
                    }
                }
            }
            let _ = done.send(r);
        });
        self.writer
            .send(Job::Raw { run })
            .map_err(|_| ApiError::internal("the database writer has stopped"))?;
        finished
            .recv()
            .map_err(|_| ApiError::internal("the database writer has stopped"))?
            .map_err(ApiError::internal)
    }
}

/// Why `Db::checkpoint` did not leave the `.db` file complete.
#[derive(Debug, thiserror::Error)]
enum CheckpointError {
    #[error("the checkpoint stayed busy")]
    StayedBusy,
    #[error("checkpoint")]
    Failed(#[source] rusqlite::Error),
}

/// How long the checkpointer rests when the WAL had nothing new to copy.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(100);

/// Copies committed pages from the WAL into the database file, on its own connection,
/// until the `Db` is gone: again at once while there is work, else after a rest.
/// PASSIVE: it never waits for or blocks the writer or the readers; what a reader
/// still needs is copied next time, and once everything is copied the writer starts
/// the WAL over from its beginning.
pub(super) fn run_checkpointer(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::TryRecvError;
    let mut rest = Duration::ZERO;
    loop {
        match stop.recv_timeout(rest) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if let Err(TryRecvError::Disconnected) = stop.try_recv() {
            return;
        }
        // (busy, frames in the WAL, frames copied so far)
        let done = conn
            .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")
            .and_then(|mut stmt| {
                stmt.query_row([], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
            });
        rest = match done {
            Ok((frames, copied)) if copied < frames => Duration::from_millis(2),
            Ok(_) => CHECKPOINT_IDLE,
            Err(e) => {
                log::warn!("checkpoint: {e}");
                CHECKPOINT_IDLE
            }
        };
    }
}
