//! Limits of requests without a live token: they count against their client address
//! (`rate_limit_per_address_per_minute`), in bounded memory; a made-up token gets no
//! state of its own, so a flood of them leaves the server's memory where it was. Clients
//! speak from several loopback addresses (127.0.0.x) to be told apart.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::FromRawFd;
use std::time::Duration;

use crate::support::app::*;
use crate::support::binary::{first_start, Env};

/// A TCP connection to `127.0.0.1:port` made from the local address `from`.
pub fn connect_from(from: Ipv4Addr, port: u16) -> TcpStream {
    fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
        libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: a.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            },
            sin_zero: [0; 8],
        }
    }
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let local = sockaddr(SocketAddrV4::new(from, 0));
    let remote = sockaddr(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    // SAFETY: plain socket calls on a descriptor this function owns; the addresses are
    // valid `sockaddr_in`s of the length given; on success the descriptor is handed to
    // a `TcpStream`, which closes it, and on failure it is closed here.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let bound = libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len);
        let connected =
            bound == 0 && libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) == 0;
        if !connected {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            panic!("connect from {from} to port {port}: {e}");
        }
        TcpStream::from_raw_fd(fd)
    }
}

/// One request from the local address `from`, with `Authorization: Bearer <token>`
/// when a token is given.
fn from(app: &TestApp, from: Ipv4Addr, path: &str, token: Option<&str>) -> Resp {
    let mut stream = connect_from(from, app.port);
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).unwrap();
    parse_response(&buf, true)
        .unwrap_or_else(|| panic!("an answer to {path}: {:?}", String::from_utf8_lossy(&buf)))
}

fn made_up_token(n: usize) -> String {
    format!("{n:048x}")
}

fn retry_after(r: &Resp) -> u64 {
    r.header("Retry-After")
        .unwrap_or_else(|| panic!("Retry-After: {:?}", r.headers))
        .parse()
        .unwrap()
}

#[test]
fn requests_without_a_live_token_are_limited_per_address() {
    let app = spawn_app_with(|s| s.rate_limit_per_address_per_minute = 5);
    let a = Ipv4Addr::new(127, 0, 0, 2);
    let b = Ipv4Addr::new(127, 0, 0, 3);
    let accounts = "/api/v1/accounts";

    // The shop's token authenticates once: from then on it counts on its own.
    let r = from(&app, a, accounts, Some(&app.token));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("RateLimit-Limit").is_some(), "{:?}", r.headers);

    // Made-up tokens and token-less requests share the address's five a minute (and
    // so did that first request: the token was not known to be live before it).
    let mut statuses = Vec::new();
    for n in 0..3 {
        statuses.push(from(&app, a, accounts, Some(&made_up_token(n))).status);
    }
    statuses.push(from(&app, a, "/api/v1/status", None).status);
    assert_eq!(statuses, [401, 401, 401, 200]);
    let r = from(&app, a, accounts, Some(&made_up_token(99)));
    assert_eq!(r.status, 429, "{}", r.text);
    assert!((1..=60).contains(&retry_after(&r)), "{:?}", r.headers);
    let r = from(&app, a, "/c/00000000-0000-4000-8000-000000000000", None);
    assert_eq!(r.status, 429, "public pages count too: {}", r.text);

    // Another address has its own allowance.
    let r = from(&app, b, accounts, Some(&made_up_token(100)));
    assert_eq!(r.status, 401, "{}", r.text);

    // The live token is not held back by its address.
    let r = from(&app, a, accounts, Some(&app.token));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("RateLimit-Remaining").is_some(), "{:?}", r.headers);

    // Revoked, it is refused once as a token, then counts as its address again.
    let conn = app.conn();
    conn.execute(
        "UPDATE api_tokens SET revoked_at = '2024-01-01T00:00:00.000Z'",
        [],
    )
    .unwrap();
    let r = from(&app, a, accounts, Some(&app.token));
    assert_eq!(r.status, 401, "{}", r.text);
    let r = from(&app, a, accounts, Some(&app.token));
    assert_eq!(r.status, 429, "{}", r.text);
}

#[test]
fn a_zero_address_limit_turns_it_off() {
    let app = spawn_app_with(|s| s.rate_limit_per_address_per_minute = 0);
    let a = Ipv4Addr::new(127, 0, 0, 4);
    for n in 0..30 {
        let r = from(&app, a, "/api/v1/accounts", Some(&made_up_token(n)));
        assert_eq!(r.status, 401, "request {n}: {}", r.text);
    }
}

/// Pipelines GET requests with made-up tokens (`first`, `first + 1`, ... as numbers) on
/// one connection until `count` are answered or the server closes it (actix-web now and
/// then closes a connection with pipelined requests still unread); returns the answers'
/// statuses.
fn pipeline(port: u16, first: usize, count: usize) -> Vec<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(256 * 1024);
        for n in first..first + count {
            batch.extend_from_slice(
                format!(
                    "GET /api/v1/accounts HTTP/1.1\r\nHost: x\r\n\
                     Authorization: Bearer {:064x}\r\n\r\n",
                    n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                )
                .as_bytes(),
            );
            if batch.len() > 200 * 1024 || n + 1 == first + count {
                // A closed connection ends the writing; the reader sees how far it got.
                if writer.write_all(&batch).is_err() {
                    return;
                }
                batch.clear();
            }
        }
    });
    // Bodies end without a newline, so status lines are looked for in the bytes.
    let mut statuses = Vec::with_capacity(count);
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    while statuses.len() < count {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        let mut at = 0;
        while let Some(i) = carry[at..]
            .windows(12)
            .position(|w| w.starts_with(b"HTTP/1.1 "))
        {
            let digits = &carry[at + i + 9..at + i + 12];
            statuses.push(std::str::from_utf8(digits).unwrap().parse().unwrap());
            at += i + 12;
        }
        // Keep a tail that may hold the start of a status line.
        let keep = carry.len().saturating_sub(11).max(at);
        carry.drain(..keep);
    }
    drop(stream);
    let _ = sender.join();
    statuses
}

/// `count` requests with made-up tokens from `first` on, over `connections` at once;
/// how many answers had each status.
fn flood(port: u16, connections: usize, count: usize, first: usize) -> Vec<(u16, usize)> {
    let per = count / connections;
    let workers: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || {
                let mut next = first + c * per * 2;
                let mut statuses = Vec::with_capacity(per);
                for _ in 0..100 {
                    let want = per - statuses.len();
                    if want == 0 {
                        break;
                    }
                    statuses.extend(pipeline(port, next, want));
                    next += want;
                }
                assert_eq!(statuses.len(), per, "every request answered");
                statuses
            })
        })
        .collect();
    let mut total = std::collections::BTreeMap::<u16, usize>::new();
    for w in workers {
        for status in w.join().unwrap() {
            *total.entry(status).or_default() += 1;
        }
    }
    total.into_iter().collect()
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("VmRSS in {status}"))
}

/// The server's memory after 300,000 made-up tokens is where it was before them: no
/// per-token state. (When each made-up token left a bucket behind, it grew by about
/// 19 MB here; now by well under 1 MB.) The shop's own token still works throughout.
#[test]
fn a_flood_of_made_up_tokens_leaves_memory_flat() {
    let env = Env::new(&[("rate_limit_per_minute", "1200"), ("log_level", "\"warn\"")]);
    let (server, client) = first_start(&env);
    let pid = server.pid();

    // Warm up with as many: the allocator's arenas and the connections' buffers reach
    // their size (under a busy machine they grow further while requests queue), so what
    // the measured flood adds is what it leaves per token.
    let warm = flood(server.port, 4, 300_000, 0);
    // Two measured floods: state kept per token would grow memory in each (by ~19 MB
    // apiece when it did); a buffer that grows once on a loaded machine grows in one at
    // most, so the smaller growth is what the tokens themselves cost.
    let mut grown = Vec::new();
    let mut counts = Vec::new();
    for round in 1..=2 {
        let before = rss_kib(pid);
        counts = flood(server.port, 4, 300_000, round * 1_000_000);
        let after = rss_kib(pid);
        grown.push((after.saturating_sub(before), before, after));
    }
    let (least, before, after) = *grown.iter().min().expect("two rounds");
    assert!(
        least < 4 * 1024,
        "memory grew by {least} KiB ({before} → {after} KiB) for 300,000 made-up tokens \
         (both rounds: {grown:?})"
    );
    let refused = counts
        .iter()
        .find(|(s, _)| *s == 429)
        .map_or(0, |(_, n)| *n);
    assert!(
        refused > 290_000,
        "past the address's allowance the flood is refused: {counts:?} (warm-up {warm:?})"
    );
    let r = client.get(&client.store_path(""));
    assert_eq!(r.status, 200, "the shop's token still works: {}", r.text);
}
