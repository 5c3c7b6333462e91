//! The network edge: slow clients against every route that reads a body, connections
//! per peer address with the server's file limit lowered, what reaches the log (a flood
//! of Wallet log reports, the access log, malformed requests), HEAD on every GET route,
//! CORS origins compared whole, and wallet links of cards that do not exist.
//!
//! Clients from different places are clients bound to different loopback addresses
//! (127.0.0.2, 127.0.0.3, ...): Linux routes all of 127/8 to the loopback interface.

mod connections;
mod http;
mod logs;
mod slow_bodies;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

/// A TCP connection to `port` on 127.0.0.1 from the loopback address `source`.
pub fn connect_from(source: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((source, 0)).into())?;
    socket.connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)).into(),
        Duration::from_secs(5),
    )?;
    Ok(socket.into())
}

/// The loopback address 127.0.0.`n`.
pub fn loopback(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

/// Every route that reads a request body, as (method, path): the API's POST, PATCH,
/// PUT and DELETE routes (their ids filled with `id`; the body is read before any id is
/// looked at), the signup form's POST, and the pass web service's registration and log.
pub fn body_routes(store_id: i64) -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = stampd::api::api_route_list()
        .into_iter()
        .filter(|(_, method)| method.as_str() != "GET")
        .map(|(template, method)| {
            let path = template
                .split('/')
                .map(|segment| match segment {
                    "{account_id}" => store_id.to_string(),
                    s if s.starts_with('{') => "1".to_string(),
                    s => s.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            (method.as_str().to_string(), path)
        })
        .collect();
    assert!(
        routes.len() >= 15,
        "only {} API routes read a body",
        routes.len()
    );
    let serial = "9b2f4a9e-3f0c-4d8e-9a51-2d1f8c0e7b6a";
    for path in [
        "/s/AbCdEfGhIjKlMnOp".to_string(),
        format!("/passes/v1/devices/device1/registrations/pass.example.test/{serial}"),
        "/passes/v1/log".to_string(),
    ] {
        routes.push(("POST".into(), path));
    }
    routes
}

/// A request head announcing a JSON body of `length` bytes.
pub fn body_head(method: &str, path: &str, token: &str, length: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// The status of the answer that has arrived on `stream` within `wait`: `Ok(Some)` for
/// an answer, `Ok(None)` when the server closed the connection without one, `Err`
/// when nothing came at all.
pub fn answer_status(stream: &mut TcpStream, wait: Duration) -> Result<Option<u16>, String> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(status) = status_of(&got) {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no answer within {wait:?}: {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Ok(status_of(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // Reset: closed with unread bytes still in its buffer.
            Err(_) => return Ok(status_of(&got)),
        }
    }
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let line_end = answer.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&answer[..line_end]).ok()?;
    line.split(' ').nth(1)?.parse().ok()
}

/// Sends `head`, then the body one byte each `every`, until the server answers or
/// closes: the answer's status and how long it took; `Err` when neither happened
/// within `give_up`.
pub fn trickle(
    mut stream: TcpStream,
    head: &str,
    every: Duration,
    give_up: Duration,
) -> Result<(Option<u16>, Duration), String> {
    let start = Instant::now();
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    loop {
        let _ = stream.write_all(b" ");
        match answer_status(&mut stream, every) {
            Ok(status) => return Ok((status, start.elapsed())),
            Err(_) if start.elapsed() < give_up => {}
            Err(_) => return Err(format!("still sending after {give_up:?}")),
        }
    }
}
