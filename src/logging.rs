//! The server's logger: env_logger at `log_level` (RUST_LOG refines it), with what
//! clients do wrong kept out of the ERROR level.
//!
//! actix-http reports a malformed request, or a client that hangs up mid-request, as
//! an ERROR ("stream error: ..."), so anyone on the network could fill the error log
//! and bury the errors that need the operator. Those reports are logged at INFO
//! (malformed requests) and DEBUG (connections cut by the client); errors of stampd
//! itself stay at ERROR.

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Installs the logger for the whole process.
pub fn init(level: LevelFilter) {
    let inner = env_logger::Builder::new()
        .filter_level(level)
        .parse_default_env()
        .format_timestamp_millis()
        .build();
    log::set_max_level(inner.filter());
    if log::set_boxed_logger(Box::new(ClientErrorsBelowError(inner))).is_err() {
        log::warn!("a logger was already installed; keeping it");
    }
}

/// Where actix-http logs the errors of a connection.
const DISPATCHER: &str = "actix_http::h1::dispatcher";

/// The level a record of actix-http's dispatcher belongs at when a client caused it;
/// `None` for every other record.
pub fn client_error_level(target: &str, level: Level, message: &str) -> Option<Level> {
    if level != Level::Error || !target.starts_with(DISPATCHER) {
        return None;
    }
    let detail = message.strip_prefix("stream error: ").unwrap_or(message);
    if detail.starts_with("request parse error") {
        Some(Level::Info)
    } else if detail.starts_with("I/O error") || detail.starts_with("write zero") {
        Some(Level::Debug)
    } else {
        None
    }
}

struct ClientErrorsBelowError<L>(L);

impl<L: Log> Log for ClientErrorsBelowError<L> {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if record.level() != Level::Error || !record.target().starts_with(DISPATCHER) {
            return self.0.log(record);
        }
        let message = record.args().to_string();
        match client_error_level(record.target(), record.level(), &message) {
            Some(level) => {
                let moved = Metadata::builder()
                    .level(level)
                    .target(record.target())
                    .build();
                if self.0.enabled(&moved) {
                    self.0.log(
                        &Record::builder()
                            .metadata(moved)
                            .args(format_args!("{message}"))
                            .module_path(record.module_path())
                            .file(record.file())
                            .line(record.line())
                            .build(),
                    );
                }
            }
            None => self.0.log(record),
        }
    }

    fn flush(&self) {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_move_down_and_internal_errors_stay() {
        let at = |message: &str| client_error_level(DISPATCHER, Level::Error, message);
        assert_eq!(
            at("stream error: request parse error: invalid Header provided"),
            Some(Level::Info)
        );
        assert_eq!(
            at("stream error: I/O error: Connection reset by peer"),
            Some(Level::Debug)
        );
        assert_eq!(at("stream error: internal error"), None);
        assert_eq!(
            client_error_level("stampd::api", Level::Error, "request parse error"),
            None
        );
    }
}
