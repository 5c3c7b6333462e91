//! Name resolution of webhook targets: the system's resolver, or a DNS server of the
//! `webhook_dns_server` setting asked directly (A and AAAA over UDP), for a shop whose
//! webhooks must see a name server of its own. Either way the addresses are what the
//! target guard checks and the only ones a delivery connects to.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// How long one question waits for its answer, and how often it is asked.
const WAIT: Duration = Duration::from_secs(2);
const TRIES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    System,
    Server(SocketAddr),
}

impl Resolver {
    pub fn new(server: Option<SocketAddr>) -> Resolver {
        server.map_or(Resolver::System, Resolver::Server)
    }

    /// The addresses of `host` (a name or a literal address), with `port`.
    pub fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let addrs: Vec<SocketAddr> = match self {
            Resolver::System => (bare, port).to_socket_addrs()?.collect(),
            Resolver::Server(server) => {
                let mut out = Vec::new();
                for qtype in [A, AAAA] {
                    out.extend(
                        ask(*server, bare, qtype)?
                            .into_iter()
                            .map(|ip| SocketAddr::new(ip, port)),
                    );
                }
                out
            }
        };
        if addrs.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no address"));
        }
        Ok(addrs)
    }
}

const A: u16 = 1;
const AAAA: u16 = 28;

/// Asks `server` for the `qtype` records of `name`.
fn ask(server: SocketAddr, name: &str, qtype: u16) -> io::Result<Vec<IpAddr>> {
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind)?;
    socket.set_read_timeout(Some(WAIT))?;
    socket.connect(server)?;
    let id: u16 = rand::random();
    let query = question(id, name, qtype)?;
    let mut buf = [0u8; 1500];
    let mut last = io::Error::new(io::ErrorKind::TimedOut, "the DNS server did not answer");
    for _ in 0..TRIES {
        socket.send(&query)?;
        match socket.recv(&mut buf) {
            Ok(n) => match answers(&buf[..n], id, qtype) {
                Some(ips) => return Ok(ips),
                None => {
                    last = io::Error::new(io::ErrorKind::InvalidData, "a bad DNS answer");
                }
            },
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn question(id: u16, name: &str, qtype: u16) -> io::Result<Vec<u8>> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a host name",
            ));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

/// The addresses of an answer to our question `id`; `None` when it is not one.
fn answers(m: &[u8], id: u16, qtype: u16) -> Option<Vec<IpAddr>> {
    let u16_at = |i: usize| Some(u16::from_be_bytes([*m.get(i)?, *m.get(i + 1)?]));
    if u16_at(0)? != id || m.get(2)? & 0x80 == 0 {
        return None;
    }
    let rcode = m.get(3)? & 0x0f;
    if rcode == 3 {
        return Some(Vec::new());
    }
    if rcode != 0 {
        return None;
    }
    let (qd, an) = (u16_at(4)?, u16_at(6)?);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(m, at)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        at = skip_name(m, at)?;
        let (kind, len) = (u16_at(at)?, u16_at(at + 8)? as usize);
        let data = m.get(at + 10..at + 10 + len)?;
        match (kind, len) {
            (A, 4) if qtype == A => {
                out.push(IpAddr::from(<[u8; 4]>::try_from(data).ok()?));
            }
            (AAAA, 16) if qtype == AAAA => {
                out.push(IpAddr::from(<[u8; 16]>::try_from(data).ok()?));
            }
            _ => {}
        }
        at += 10 + len;
    }
    Some(out)
}

/// The position after a name (labels, ending in a zero or a pointer).
fn skip_name(m: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *m.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + l as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_addresses_are_not_looked_up() {
        let r = Resolver::Server("127.0.0.1:1".parse().unwrap());
        assert_eq!(
            r.resolve("10.0.0.1", 443).unwrap(),
            vec!["10.0.0.1:443".parse().unwrap()]
        );
        assert_eq!(
            r.resolve("[::1]", 8443).unwrap(),
            vec!["[::1]:8443".parse().unwrap()]
        );
    }

    #[test]
    fn an_answer_is_read_with_compressed_names() {
        let q = question(7, "hooks.test", A).unwrap();
        let mut m = q.clone();
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 1; // one answer
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
        assert_eq!(
            answers(&m, 7, A).unwrap(),
            vec![IpAddr::from([93, 184, 216, 34])]
        );
        assert_eq!(answers(&m, 8, A), None, "another question's answer");
    }
}
