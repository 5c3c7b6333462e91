//! The access log: one line per request with the client address (the peer's, or behind
//! a trusted proxy the one it reports: `peer`), method, path, status,
//! size and time — never a query string (searches carry emails and phone numbers) and
//! never the secret part of a public link (a card's uuid, a poster's token, a pass's
//! serial or a device's id), which would let anyone who reads the log open them.

use std::borrow::Cow;

use actix_web::dev::ServiceRequest;
use actix_web::middleware::Logger;

/// What stands in the log for a secret path segment.
pub const PLACEHOLDER: &str = "{secret}";

/// The first path segments under which every segment is a secret unless it is one of
/// [`PUBLIC_WORDS`]: the web card (`/c/`), signup pages (`/s/`), printable posters
/// (`/posters/`) and wallet passes with their web service (`/passes/`).
const SECRET_ROOTS: &[&str] = &["c", "s", "posters", "passes"];

/// The fixed words of the routes under [`SECRET_ROOTS`].
const PUBLIC_WORDS: &[&str] = &[
    "qr.svg",
    "google",
    "v1",
    "devices",
    "registrations",
    "passes",
    "log",
    "assets",
    "program-logo.png",
];

/// The access log middleware. Its lines go to the target `actix_web::middleware::logger`
/// at INFO, as actix-web's own do.
pub fn logger() -> Logger {
    Logger::new("%{client}xi \"%{request}xi\" %s %b %Dms")
        .custom_request_replace("client", |req: &ServiceRequest| client(req))
        .custom_request_replace("request", |req: &ServiceRequest| request_line(req))
}

/// The client's address: the peer's, or behind a trusted proxy the one it reports.
fn client(req: &ServiceRequest) -> String {
    super::peer::client_address(req.request()).map_or_else(|| "-".into(), |a| a.to_string())
}

fn request_line(req: &ServiceRequest) -> String {
    format!(
        "{} {} {:?}",
        req.method(),
        logged_path(req.path()),
        req.version()
    )
}

/// A request path as the log shows it (the query string is not part of it).
pub fn logged_path(path: &str) -> Cow<'_, str> {
    let mut segments = path.split('/');
    let (Some(""), Some(root)) = (segments.next(), segments.next()) else {
        return visible(path);
    };
    if !SECRET_ROOTS.contains(&root) {
        return visible(path);
    }
    let mut out = format!("/{root}");
    for segment in segments {
        out.push('/');
        if segment.is_empty() || PUBLIC_WORDS.contains(&segment) {
            out.push_str(segment);
        } else if segment.ends_with(".pkpass") {
            out.push_str(PLACEHOLDER);
            out.push_str(".pkpass");
        } else {
            out.push_str(PLACEHOLDER);
        }
    }
    Cow::Owned(out)
}

/// The path with anything but visible ASCII escaped, so a line of the log is one line
/// and shows what was sent.
fn visible(path: &str) -> Cow<'_, str> {
    if path.bytes().all(|b| b.is_ascii_graphic()) {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(path.escape_debug().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_public_links_are_left_out() {
        let uuid = "9b2f4a9e-3f0c-4d8e-9a51-2d1f8c0e7b6a";
        for (path, logged) in [
            (format!("/c/{uuid}"), "/c/{secret}"),
            (format!("/c/{uuid}/qr.svg"), "/c/{secret}/qr.svg"),
            ("/s/AbCdEf123".into(), "/s/{secret}"),
            ("/posters/AbCdEf123".into(), "/posters/{secret}"),
            (format!("/passes/{uuid}.pkpass"), "/passes/{secret}.pkpass"),
            (format!("/passes/{uuid}/google"), "/passes/{secret}/google"),
            (
                format!("/passes/v1/devices/dev123/registrations/pass.example/{uuid}"),
                "/passes/v1/devices/{secret}/registrations/{secret}/{secret}",
            ),
            (
                format!("/passes/v1/passes/pass.example/{uuid}"),
                "/passes/v1/passes/{secret}/{secret}",
            ),
            ("/passes/v1/log".into(), "/passes/v1/log"),
            (
                "/passes/assets/program-logo.png".into(),
                "/passes/assets/program-logo.png",
            ),
            (
                "/api/v1/accounts/1/customers".into(),
                "/api/v1/accounts/1/customers",
            ),
            ("/".into(), "/"),
            ("/assets/app.js".into(), "/assets/app.js"),
        ] {
            assert_eq!(logged_path(&path), logged, "{path}");
        }
    }

    #[test]
    fn odd_bytes_are_escaped() {
        assert_eq!(logged_path("/x\u{202e}y"), "/x\\u{202e}y");
    }
}
