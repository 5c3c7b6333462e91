//! The headless Chromium of the page tests: whether this machine has one, and one
//! browser at a time (Chromium is heavy, and a loaded machine makes waits flaky).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

use super::app::TestApp;

static BROWSER: Mutex<()> = Mutex::new(());

/// `Some(guard)` (the browser is this test's until the guard drops) when Chromium and
/// chromedriver are here; otherwise says why and gives `None`, or fails when
/// `STAMPD_REQUIRE_BROWSER=1`.
pub fn browser_available(test: &str) -> Option<MutexGuard<'static, ()>> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "{} not installed (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        );
        if std::env::var("STAMPD_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("{test}: STAMPD_REQUIRE_BROWSER=1 but {why}");
        }
        // Straight to stderr, past the test harness's capture, so that the skip shows.
        let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
        return None;
    }
    Some(BROWSER.lock().unwrap_or_else(|e| e.into_inner()))
}

/// `target/screenshots/`, where page tests save what the screen showed.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("screenshots")
}

/// The stampd a page test opens: its one store has a shop's name ("Corner Coffee"),
/// as staff would see it on screen and in the screenshots.
pub fn corner_coffee() -> TestApp {
    TestApp::start("Corner Coffee", |_, _| {})
}
