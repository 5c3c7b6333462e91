//! How each channel of the outbox fares, as its sender last saw it: the public status
//! shows it as `ok` or `degraded`, nothing more (details, such as errors, need a token:
//! `GET /deliveries/channels`).
//!
//! A channel is degraded while its last try failed for a reason a retry may mend (its
//! server down, refusing or slow, settings that do not work), or while rows wait for
//! settings it does not have. A row's own failure (an address that does not parse, a
//! device gone) says nothing about the channel. Kept in memory: a restart starts
//! every channel `ok` until its sender tries.

use std::collections::HashMap;
use std::sync::Mutex;

use super::SendError;

/// What a sender last saw of its channel.
#[derive(Debug, Clone, Default)]
struct Seen {
    configured: bool,
    /// Rows wait for settings the channel does not have.
    waiting_unconfigured: bool,
    /// The last try failed for a reason a retry may mend.
    failing: bool,
}

/// How each channel fares.
#[derive(Debug, Default)]
pub struct Health(Mutex<HashMap<&'static str, Seen>>);

impl Health {
    fn with(&self, channel: &'static str, f: impl FnOnce(&mut Seen)) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(seen.entry(channel).or_default());
    }

    /// Whether the channel has settings.
    pub fn configured(&self, channel: &'static str, configured: bool) {
        self.with(channel, |s| s.configured = configured);
    }

    /// Whether rows of a channel without settings wait for them.
    pub fn waiting_unconfigured(&self, channel: &'static str, waiting: bool) {
        self.with(channel, |s| s.waiting_unconfigured = waiting);
    }

    /// The outcomes of the rows a sender sent together: the channel fails when none
    /// went out and one failed for a reason a retry may mend (a row's own failure says
    /// the channel works).
    pub fn tried(&self, channel: &'static str, outcomes: &[Result<(), SendError>]) {
        let sent = outcomes.iter().any(Result::is_ok);
        let failing = !sent && outcomes.iter().any(|o| matches!(o, Err(e) if e.retry));
        self.with(channel, |s| s.failing = failing);
    }

    /// `"ok"` or `"degraded"`.
    pub fn state(&self, channel: &str) -> &'static str {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(channel) {
            Some(s) if s.failing || (!s.configured && s.waiting_unconfigured) => "degraded",
            _ => "ok",
        }
    }

    /// Whether the channel has settings, as its sender says; `None` before it started.
    pub fn is_configured(&self, channel: &str) -> Option<bool> {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(channel).map(|s| s.configured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_degraded_while_it_fails_or_waits_for_settings() {
        let h = Health::default();
        assert_eq!(h.state("apns"), "ok", "not started yet");
        h.configured("apns", true);
        h.tried("apns", &[Err(SendError::transient("APNs answered 500"))]);
        assert_eq!(h.state("apns"), "degraded");
        h.tried("apns", &[Err(SendError::gone("410 Unregistered"))]);
        assert_eq!(h.state("apns"), "ok", "a device gone is the device's");
        h.tried("apns", &[Err(SendError::transient("connection refused"))]);
        h.tried("apns", &[Err(SendError::transient("429")), Ok(())]);
        assert_eq!(h.state("apns"), "ok", "pushes go out");

        h.configured("email", false);
        assert_eq!(h.state("email"), "ok", "nothing waits");
        h.waiting_unconfigured("email", true);
        assert_eq!(h.state("email"), "degraded");
        assert_eq!(h.is_configured("email"), Some(false));
        assert_eq!(h.is_configured("sms"), None);
    }
}
