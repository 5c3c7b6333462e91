//! Checkpoints: the checkpointer thread that copies the WAL into the database file as
//! the server runs, and `Db::checkpoint`, the complete one a clean stop ends with.
//!
//! With `checkpoint_mode = "external"` both leave the WAL to the tool that replicates
//! it (Litestream): it holds a read transaction open between its syncs so that nobody
//! else can start the WAL over, and checkpoints itself once it has read every page. A
//! checkpoint of ours in between could copy and restart the WAL before Litestream read
//! it, which it can only mend with a new full snapshot; and a TRUNCATE at a clean stop
//! waits for its read transaction, which never ends. The thread then only watches the
//! WAL's size, and steps in past [`EXTERNAL_WAL_LIMIT`] (Litestream is not running).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::writer::Job;
use super::Db;
use crate::config::CheckpointMode;
use crate::error::ApiError;

/// With `checkpoint_mode = "external"`, the WAL size past which stampd checkpoints
/// (PASSIVE) and warns: Litestream checkpoints at 1,000 pages (4 MB), so a WAL this big
/// means it is not running, and the WAL would otherwise grow without end.
pub const EXTERNAL_WAL_LIMIT: u64 = 64 * 1024 * 1024;

/// How long a clean stop tries to truncate the WAL. Our own checkpointer holds the
/// checkpoint lock only for moments; a process that holds a read transaction open (a
/// Litestream left running with `checkpoint_mode = "stampd"`) would hold it for ever,
/// and the stop must not wait for it.
const FINAL_CHECKPOINT_FOR: Duration = Duration::from_secs(10);

impl Db {
    /// Folds the WAL back into the main file so the `.db` file alone is complete (with
    /// `checkpoint_mode = "external"`, nothing: the WAL is the replicating tool's).
    pub fn checkpoint(&self) -> Result<(), ApiError> {
        if self.checkpoint_mode == CheckpointMode::External {
            return Ok(());
        }
        let (done, finished) = std::sync::mpsc::sync_channel(1);
        let run = Box::new(move |conn: &Connection| {
            // The checkpointer thread may hold the checkpoint lock for a moment: retry
            // until the WAL is copied and truncated, for a while. (Each try may also wait
            // up to busy_timeout for readers to move on.)
            let mut r = Err(CheckpointError::StayedBusy);
            let until = Instant::now() + FINAL_CHECKPOINT_FOR;
            while Instant::now() < until {
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
    #[error("the checkpoint stayed busy: another process keeps a read transaction open (a Litestream replicating this database needs checkpoint_mode = \"external\")")]
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
pub(super) fn run_checkpointer(
    conn: Connection,
    stop: std::sync::mpsc::Receiver<()>,
    mode: CheckpointMode,
    wal: PathBuf,
) {
    if mode == CheckpointMode::External {
        return watch_external(conn, stop, wal);
    }
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

/// How often the WAL's size is looked at with `checkpoint_mode = "external"`.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// How often the warning that the WAL is too big repeats while it stays so.
const WARN_EVERY: Duration = Duration::from_secs(600);

/// With `checkpoint_mode = "external"`: leaves the WAL to Litestream, unless it passes
/// [`EXTERNAL_WAL_LIMIT`]; then copies it (PASSIVE, so never waiting for anybody) and
/// warns that the tool that should checkpoint does not seem to run.
fn watch_external(conn: Connection, stop: std::sync::mpsc::Receiver<()>, wal: PathBuf) {
    let mut warned: Option<Instant> = None;
    loop {
        match stop.recv_timeout(WATCH_EVERY) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size <= EXTERNAL_WAL_LIMIT {
            continue;
        }
        if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            log::warn!(
                "the WAL ({}) is {} MB: checkpoint_mode = \"external\" leaves checkpoints to \
                 Litestream, which does not seem to run; stampd copies the WAL itself until it does",
                wal.display(),
                size / (1024 * 1024)
            );
            warned = Some(Instant::now());
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            log::warn!("checkpoint: {e}");
        }
    }
}
