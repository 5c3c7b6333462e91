//! Connections per peer address: past `max_connections_per_address`, a connection is
//! closed as soon as it is accepted, so hundreds of slow clients cannot use up the
//! server's file descriptors and everyone else still gets in.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use super::{answer_status, body_head, body_routes, connect_from, loopback};
use crate::support::app::spawn_app_with;
use crate::support::binary::{first_start_on, Client, Env, Server};

/// One address gets its cap of connections; one more is closed at once, unanswered,
/// while another address is served; a place that is given back can be taken again.
#[test]
fn connections_past_an_address_cap_are_closed_at_once() {
    let app = spawn_app_with(|s| s.max_connections_per_address = 3);
    // Three idle connections (no request yet) from 127.0.0.2 hold its places.
    let mut held: Vec<_> = (0..3)
        .map(|_| connect_from(loopback(2), app.port).expect("connect"))
        .collect();
    // Accepting is asynchronous: give the server a moment to count them.
    std::thread::sleep(Duration::from_millis(300));
    let mut fourth = connect_from(loopback(2), app.port).expect("connect");
    let _ = fourth.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
    let start = Instant::now();
    let answer = answer_status(&mut fourth, Duration::from_secs(5));
    assert_eq!(
        answer,
        Ok(None),
        "a fourth connection from one address is closed without an answer"
    );
    assert!(start.elapsed() < Duration::from_secs(2), "closed at once");

    // Another address is served meanwhile.
    let mut other = connect_from(loopback(3), app.port).expect("connect");
    other
        .write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(
        answer_status(&mut other, Duration::from_secs(5)),
        Ok(Some(200))
    );

    // One of the three goes: its place comes back.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from(loopback(2), app.port).expect("connect");
        let _ = again.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
        match answer_status(&mut again, Duration::from_secs(5)) {
            Ok(Some(200)) => break,
            other => assert!(
                Instant::now() < deadline,
                "the place did not come back: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With its file limit lowered to 128, the real binary keeps answering while 300 slow
/// clients from five addresses trickle bodies to every route that reads one: each
/// address holds at most its cap of connections (each cut off at the body deadline),
/// and its others are closed at once.
#[test]
fn hundreds_of_slow_clients_do_not_use_up_the_file_limit() {
    const CAP: u32 = 8;
    const ADDRESSES: u8 = 5;
    const PER_ADDRESS: usize = 60;
    let env = Env::new(&[
        ("max_connections_per_address", &CAP.to_string()),
        ("request_body_timeout_secs", "5"),
        ("request_head_timeout_secs", "5"),
    ]);
    let (server, client) = first_start_limited(&env, 128);
    let routes = body_routes(client.store_id);

    let mut slow = Vec::new();
    for a in 0..ADDRESSES {
        let source = loopback(10 + a);
        for i in 0..PER_ADDRESS {
            let (method, path) = &routes[(a as usize * PER_ADDRESS + i) % routes.len()];
            let Ok(mut stream) = connect_from(source, server.port) else {
                continue; // refused outright also keeps it out
            };
            let head = body_head(method, path, &client.token, 1000);
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(b"{");
            slow.push((source, stream));
        }
    }

    // While they hang on, another client is answered at once.
    let start = Instant::now();
    let r = ureq::get(&server.url("/api/v1/status"))
        .timeout(Duration::from_secs(3))
        .call();
    assert!(
        matches!(&r, Ok(resp) if resp.status() == 200),
        "the server stopped answering with {} slow clients connected: {:?} after {:?}\n{}",
        slow.len(),
        r.map(|r| r.status()),
        start.elapsed(),
        server.log_text()
    );

    // Each address had at most CAP connections served (cut off by the deadline, or
    // refused by a limit); the rest were closed without an answer.
    for a in 0..ADDRESSES {
        let source = loopback(10 + a);
        let mut answered = 0;
        let mut closed = 0;
        for (_, stream) in slow.iter_mut().filter(|(s, _)| *s == source) {
            match answer_status(stream, Duration::from_secs(15)) {
                Ok(Some(status)) => {
                    assert!(
                        matches!(status, 408 | 429),
                        "{source}: answered {status} to a stalled body"
                    );
                    answered += 1;
                }
                Ok(None) => closed += 1,
                Err(e) => panic!("{source}: a slow client was never cut off: {e}"),
            }
        }
        assert!(answered <= CAP, "{source}: {answered} connections served");
        assert!(
            closed >= PER_ADDRESS - CAP as usize,
            "{source}: only {closed} closed"
        );
    }
    let r = client.get("/api/v1/status");
    assert_eq!(r.status, 200, "{}", r.text);
}

/// `first_start` with the server's RLIMIT_NOFILE lowered to `files`.
fn first_start_limited(env: &Env, files: u64) -> (Server, Client) {
    let server = Server::start_with(env, |command| {
        // SAFETY: setrlimit is async-signal-safe, and the closure touches nothing else
        // of the parent's between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: files,
                    rlim_max: files,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    first_start_on(server)
}
