//! The queue of API reads for the reader connections, and the threads costly reads run
//! on: one turn per reader, first come first served; a cap on the turns costly reads
//! (searches) may hold at once; and searches run on threads of their own at a lower CPU
//! priority than the threads that answer everything else.
//!
//! Readers are few (`read_pool_size`), and a search whose letters are common may spend
//! its whole budget of CPU time (`search_budget_ms`). Without a cap, a dozen such
//! searches at once held every reader, and a customer show waited behind them for
//! seconds. Costly reads now take a search turn before their reader turn, and there
//! are `search_readers` search turns, never as many as readers: however many searches
//! wait, the other readers stay free for the cheap reads of the counter (a customer
//! show, a card, a page of the plain list), which queue only behind each other and the
//! searches already seated. And while a show has its reader, the searches running
//! beside it yield the CPU to it (nice 10): on a machine of two cores, two busy searches
//! otherwise took half of every show's time slice.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::metrics::histogram::Histogram;

use actix_web::web;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// What a read costs, as far as the queue is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Bounded by its answer: a record, a page of the plain list.
    Cheap,
    /// Bounded only by its budget: a customer search or a filtered list.
    Search,
}

/// The nice value of the search threads: well below requests, above background work
/// (the database check runs at 19).
const SEARCH_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

pub struct ReadGate {
    /// One per reader connection.
    readers: Arc<Semaphore>,
    /// The most costly reads at a time: fewer than the readers (unless there is one).
    searches: Arc<Semaphore>,
    /// Work for the search threads, one per search turn; `None` when none could be
    /// started (then searches run where other reads do).
    search_threads: Option<Mutex<Sender<Job>>>,
    /// Seconds cheap reads and searches waited for their turn (for `/metrics`).
    pub cheap_waits: Histogram,
    pub search_waits: Histogram,
}

/// A read's place at a reader; the next read in line goes when it is dropped.
pub struct Turn {
    _reader: OwnedSemaphorePermit,
    _search: Option<OwnedSemaphorePermit>,
}

impl ReadGate {
    /// `readers` turns, of which searches may hold `searches` (at most all but one),
    /// and as many search threads.
    pub fn new(readers: usize, searches: usize) -> ReadGate {
        let readers = readers.max(1);
        let searches = searches.min(readers - 1).max(1);
        ReadGate {
            readers: Arc::new(Semaphore::new(readers)),
            searches: Arc::new(Semaphore::new(searches)),
            search_threads: start_search_threads(searches).map(Mutex::new),
            cheap_waits: Histogram::new(crate::db::wait_buckets()),
            search_waits: Histogram::new(crate::db::wait_buckets()),
        }
    }

    /// Waits for a turn at a reader (a costly read first waits for a search turn).
    pub async fn enter(&self, cost: Cost) -> Result<Turn, ApiError> {
        // The semaphores are closed only if dropped, which never happens while the
        // server runs.
        let closed = |_| ApiError::internal("the read gate is closed");
        let asked = Instant::now();
        let search = match cost {
            Cost::Cheap => None,
            Cost::Search => Some(
                self.searches
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(closed)?,
            ),
        };
        let reader = self.readers.clone().acquire_owned().await.map_err(closed)?;
        let waits = match cost {
            Cost::Cheap => &self.cheap_waits,
            Cost::Search => &self.search_waits,
        };
        waits.observe(asked.elapsed().as_secs_f64());
        Ok(Turn {
            _reader: reader,
            _search: search,
        })
    }

    /// Runs blocking read work `f` in its turn: a cheap read on the blocking pool, a
    /// search on a search thread. The next read in line goes as soon as `f` is done.
    pub async fn run<T, F>(&self, cost: Cost, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let turn = self.enter(cost).await?;
        let work = move || {
            let out = f();
            drop(turn);
            out
        };
        match (cost, &self.search_threads) {
            (Cost::Search, Some(jobs)) => {
                let (answer, answered) = tokio::sync::oneshot::channel();
                let job: Job = Box::new(move || {
                    let _ = answer.send(work());
                });
                let sent = jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
                sent.map_err(|_| ApiError::internal("the search threads have stopped"))?;
                // A job that panicked drops its sender: the request fails, the thread
                // goes on with the next search.
                answered
                    .await
                    .map_err(|_| ApiError::internal("a search failed (it panicked)"))
            }
            _ => Ok(web::block(work).await?),
        }
    }
}

/// Starts `n` search threads taking jobs in turn from one queue; `None` when not one of
/// them could be started.
fn start_search_threads(n: usize) -> Option<Sender<Job>> {
    let (jobs, queue) = channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    let mut started = 0;
    for i in 0..n {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("search-{i}"))
            .spawn(move || search_thread(&queue));
        match spawned {
            Ok(_) => started += 1,
            Err(e) => log::warn!("cannot start a search thread: {e}"),
        }
    }
    (started > 0).then_some(jobs)
}

fn search_thread(queue: &Mutex<Receiver<Job>>) {
    crate::app::lower_thread_priority(SEARCH_NICE);
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = next else {
            return; // The gate is gone: the server has stopped.
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<F: std::future::Future>(f: F) -> Option<F::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }

    #[test]
    fn searches_never_hold_the_last_reader() {
        let gate = ReadGate::new(3, 5);
        let a = now(gate.enter(Cost::Search)).unwrap().unwrap();
        let _b = now(gate.enter(Cost::Search)).unwrap().unwrap();
        assert!(
            now(gate.enter(Cost::Search)).is_none(),
            "a third search waits"
        );
        let show = now(gate.enter(Cost::Cheap)).unwrap().unwrap();
        assert!(
            now(gate.enter(Cost::Cheap)).is_none(),
            "every reader is taken"
        );
        drop(show);
        assert!(now(gate.enter(Cost::Cheap)).is_some());
        drop(a);
        assert!(now(gate.enter(Cost::Search)).is_some());
    }

    #[test]
    fn searches_hold_at_most_their_turns() {
        let gate = ReadGate::new(6, 2);
        let _searches = [(); 2].map(|_| now(gate.enter(Cost::Search)).unwrap().unwrap());
        assert!(now(gate.enter(Cost::Search)).is_none());
        let _cheap = [(); 4].map(|_| now(gate.enter(Cost::Cheap)).unwrap().unwrap());
        assert!(now(gate.enter(Cost::Cheap)).is_none());
    }

    #[test]
    fn one_reader_is_shared() {
        let gate = ReadGate::new(1, 1);
        let search = now(gate.enter(Cost::Search)).unwrap().unwrap();
        assert!(now(gate.enter(Cost::Cheap)).is_none());
        drop(search);
        assert!(now(gate.enter(Cost::Cheap)).is_some());
    }

    #[actix_web::test]
    async fn searches_run_on_their_own_threads_and_survive_a_panic() {
        let gate = ReadGate::new(4, 2);
        let name = || std::thread::current().name().map(str::to_string);
        let on = gate.run(Cost::Search, name).await.unwrap();
        assert!(
            on.is_some_and(|n| n.starts_with("search-")),
            "a search thread"
        );
        let on = gate.run(Cost::Cheap, name).await.unwrap();
        assert!(
            !on.as_deref().is_some_and(|n| n.starts_with("search-")),
            "{on:?}"
        );

        let failed = gate
            .run(Cost::Search, || -> i32 { panic!("a bug in a search") })
            .await;
        assert!(failed.is_err());
        for _ in 0..4 {
            assert_eq!(gate.run(Cost::Search, || 7).await.unwrap(), 7);
        }
    }
}
