//! Every route that reads a body reads it the same way: within the body deadline
//! (`request_body_timeout_secs`, here 1 s; then 408) and at most 64 KiB (else 413).

use std::time::Duration;

use super::{body_head, body_routes, connect_from, loopback, trickle};
use crate::support::app::spawn_app_with;

/// A body sent a byte every 200 ms is cut off with 408 once the deadline has passed,
/// on every route that reads one — the public pass web service's routes included.
#[test]
fn a_trickled_body_is_cut_off_on_every_route_that_reads_one() {
    let app = spawn_app_with(|s| {
        s.request_body_timeout_secs = 1;
        s.rate_limit_per_minute = 0;
    });
    let port = app.port;
    let clients: Vec<_> = body_routes(app.store_id)
        .into_iter()
        .map(|(method, path)| {
            let head = body_head(&method, &path, &app.token, 1000);
            std::thread::spawn(move || {
                let stream = connect_from(loopback(1), port).expect("connect");
                let trickled = trickle(
                    stream,
                    &head,
                    Duration::from_millis(200),
                    Duration::from_secs(10),
                );
                (format!("{method} {path}"), trickled)
            })
        })
        .collect();
    let mut wrong = Vec::new();
    for client in clients {
        match client.join().expect("client") {
            (route, Err(e)) => wrong.push(format!("{route}: {e}")),
            (route, Ok((status, took))) => {
                if status != Some(408)
                    || took < Duration::from_millis(900)
                    || took > Duration::from_secs(5)
                {
                    wrong.push(format!("{route}: {status:?} after {took:?}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "not cut off with 408 after the 1 s body deadline:\n{}",
        wrong.join("\n")
    );
}

/// Bodies over 64 KiB get 413 on every route that reads a body, whatever limit a
/// framework extractor would have had (actix-web's own is 256 KiB).
#[test]
fn bodies_over_64_kib_get_413_on_every_route_that_reads_one() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = 0);
    let big = format!("{{\"logs\": [\"{}\"]}}", "a".repeat(65 * 1024));
    let mut wrong = Vec::new();
    for (method, path) in body_routes(app.store_id) {
        // An import's file has a limit of its own (tests in `transfers::csv`).
        if path.ends_with("/imports") || path.ends_with("/imports/preview") {
            continue;
        }
        for chunked in [false, true] {
            // Without a Content-Length the limit is found while reading.
            let headers: &[&str] = if chunked {
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                ]
            } else {
                &["Content-Type: application/json"]
            };
            let mut request = app.raw_request(&method, &path, headers, big.as_bytes());
            if chunked {
                request = chunk(&request);
            }
            let r = app.raw(&request, Duration::from_secs(30));
            if r.status != 413 {
                wrong.push(format!(
                    "{method} {path} (chunked: {chunked}): {}",
                    r.status
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "not 413:\n{}", wrong.join("\n"));
}

/// The request with its Content-Length header dropped and its body sent as one chunk.
fn chunk(request: &[u8]) -> Vec<u8> {
    let end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head")
        + 4;
    let head = String::from_utf8_lossy(&request[..end - 2]);
    let head: String = head
        .split_inclusive("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("content-length"))
        .collect();
    let body = &request[end..];
    let mut out = format!("{head}\r\n{:X}\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n0\r\n\r\n");
    out
}
