//! The queue of API reads for the reader connections: one turn per reader, first come
//! first served, and a cap on the turns costly reads (searches) may hold at once.
//!
//! Readers are few (`read_pool_size`), and a search whose letters are common may spend
//! its whole budget of CPU time (`search_budget_ms`). Without a cap, a dozen such
//! searches at once held every reader, and a customer show waited behind them for
//! seconds. Costly reads now take a search turn before their reader turn, and there is
//! one search turn fewer than readers: however many searches wait, one reader is always
//! free for the cheap reads of the counter (a customer show, a card, a page of the
//! plain list), which queue only behind each other and the searches already seated.

use std::sync::Arc;

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

pub struct ReadGate {
    /// One per reader connection.
    readers: Arc<Semaphore>,
    /// One fewer than the readers (at least one): the most costly reads at a time.
    searches: Arc<Semaphore>,
}

/// A read's place at a reader; the next read in line goes when it is dropped.
pub struct Turn {
    _reader: OwnedSemaphorePermit,
    _search: Option<OwnedSemaphorePermit>,
}

impl ReadGate {
    pub fn new(readers: usize) -> ReadGate {
        let readers = readers.max(1);
        ReadGate {
            readers: Arc::new(Semaphore::new(readers)),
            searches: Arc::new(Semaphore::new((readers - 1).max(1))),
        }
    }

    /// Waits for a turn at a reader (a costly read first waits for a search turn).
    pub async fn enter(&self, cost: Cost) -> Result<Turn, ApiError> {
        // The semaphores are closed only if dropped, which never happens while the
        // server runs.
        let closed = |_| ApiError::internal("the read gate is closed");
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
        Ok(Turn {
            _reader: reader,
            _search: search,
        })
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
        let gate = ReadGate::new(3);
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
    fn one_reader_is_shared() {
        let gate = ReadGate::new(1);
        let search = now(gate.enter(Cost::Search)).unwrap().unwrap();
        assert!(now(gate.enter(Cost::Cheap)).is_none());
        drop(search);
        assert!(now(gate.enter(Cost::Cheap)).is_some());
    }
}
