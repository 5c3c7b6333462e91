//! Progress of long command-line work: a bar with rate and time left when stderr is a
//! terminal, plain lines otherwise (a log, a pipe, systemd), one at least every
//! `LINE_EVERY` or each tenth of the work, whichever comes first.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const LINE_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    what: &'static str,
    unit: &'static str,
    total: u64,
    done: u64,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    last_tenth: u64,
    quiet: bool,
}

impl Progress {
    /// Progress of `total` `unit`s of `what` ("importing", "rows"); `quiet` prints nothing.
    pub fn new(what: &'static str, unit: &'static str, total: u64, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(&format!(
                "{what} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        let now = Instant::now();
        Progress {
            what,
            unit,
            total,
            done: 0,
            bar,
            started: now,
            last_line: now,
            last_tenth: 0,
            quiet,
        }
    }

    /// The work's size, once it is known (or better known).
    pub fn set_total(&mut self, total: u64) {
        if total != self.total {
            self.total = total;
            if let Some(bar) = &self.bar {
                bar.set_length(total);
            }
        }
    }

    pub fn set(&mut self, done: u64) {
        self.done = done;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        let tenth = (done * 10).checked_div(self.total).unwrap_or(0);
        if !self.quiet && (self.last_line.elapsed() >= LINE_EVERY || tenth > self.last_tenth) {
            self.last_tenth = tenth;
            self.last_line = Instant::now();
            eprintln!("{}", self.line());
        }
    }

    fn line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        let left = if rate > 0.0 && self.total > self.done {
            format!(
                ", about {:.0} s left",
                (self.total - self.done) as f64 / rate
            )
        } else {
            String::new()
        };
        let percent = (self.done * 100).checked_div(self.total).unwrap_or(100);
        format!(
            "{}: {}/{} {} ({percent}%), {:.0} {}/s{left}",
            self.what, self.done, self.total, self.unit, rate, self.unit
        )
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        } else if !self.quiet {
            eprintln!("{}", self.line());
        }
    }
}
