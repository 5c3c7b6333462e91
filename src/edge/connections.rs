//! Open connections counted per peer address, with a cap (`max_connections_per_address`).
//!
//! Every connection holds a file descriptor until it ends. Head and body deadlines
//! bound how long one slow client keeps its connection, but not how many it opens:
//! hundreds of slow connections from one address would use up the server's file limit,
//! and then nobody gets in. A connection past its address's cap is closed as soon as it
//! is accepted, before any byte of it is read.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use actix_service::{Service, ServiceFactory};
use actix_web::rt::net::TcpStream;

use super::peer;

/// How many connections each address has open now. Only addresses with an open
/// connection are kept, so the table never outgrows the connections themselves.
pub struct OpenConnections {
    limit: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// A connection counted against its address; dropping it (when the connection ends,
/// however it ends) gives the place back.
pub struct Counted {
    table: Arc<OpenConnections>,
    key: IpAddr,
}

impl OpenConnections {
    pub fn new(limit: u32) -> Arc<OpenConnections> {
        Arc::new(OpenConnections {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `key`; `None` when the address has `limit` open.
    pub fn admit(self: &Arc<Self>, key: IpAddr) -> Option<Counted> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Counted {
            table: self.clone(),
            key,
        })
    }

    /// Connections open from `key` now.
    pub fn count(&self, key: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&key).copied().unwrap_or(0)
    }

    /// Addresses with a connection open now.
    pub fn addresses(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The connection service `inner` (the HTTP service of one worker), with each
/// connection counted against its peer's address and refused past the cap. The count
/// is held until `inner` is done with the connection.
pub fn counted<SF>(
    table: Arc<OpenConnections>,
    trusted: peer::TrustedProxies,
    inner: SF,
) -> impl ServiceFactory<
    TcpStream,
    Config = (),
    Response = (),
    Error = SF::Error,
    InitError = SF::InitError,
>
where
    SF: ServiceFactory<TcpStream, Config = (), Response = ()>,
    <SF::Service as Service<TcpStream>>::Future: 'static,
{
    actix_service::apply_fn_factory(inner, move |stream: TcpStream, service: &SF::Service| {
        let admitted = match stream.peer_addr() {
            // Gone before it was served: nothing to count or to serve.
            Err(_) => None,
            Ok(addr) => match peer::connection_key(addr, &trusted) {
                None => Some(None),
                Some(key) => match table.admit(key) {
                    Some(counted) => Some(Some(counted)),
                    None => {
                        log::debug!("closed a connection from {key}: it already has the most open");
                        None
                    }
                },
            },
        };
        let serving = admitted.map(|counted| (counted, service.call(stream)));
        async move {
            match serving {
                Some((counted, connection)) => {
                    let done = connection.await;
                    drop(counted);
                    done
                }
                // Dropping the stream closed the connection.
                None => Ok(()),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_is_capped_and_its_places_come_back() {
        let table = OpenConnections::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = table.admit(a).expect("first");
        let second = table.admit(a).expect("second");
        assert!(table.admit(a).is_none(), "a third from one address");
        let other = table.admit(b).expect("another address has its own places");
        assert_eq!(table.count(a), 2);
        drop(first);
        assert_eq!(table.count(a), 1);
        let again = table.admit(a).expect("a place came back");
        drop((second, again, other));
        assert_eq!(
            table.addresses(),
            0,
            "no address is kept without connections"
        );
    }
}
