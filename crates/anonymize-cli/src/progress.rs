//! Progress on stderr: a bar per vendor on a terminal, plain periodic lines otherwise (a log, a
//! CI job). Counts and rates only: never a person.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

struct Vendor {
    name: &'static str,
    total: u64,
    done: u64,
    bar: Option<ProgressBar>,
}

/// The progress of one command, per vendor.
pub(crate) struct Progress {
    verb: &'static str,
    vendors: Vec<Vendor>,
    started: Instant,
    last_line: Instant,
    every: Duration,
    _bars: Option<MultiProgress>,
}

impl Progress {
    /// Progress of `verb` (`erased`, `looked up`) over `(vendor, persons to do)`; plain lines at
    /// most every `every` when stderr is not a terminal.
    pub(crate) fn new(
        verb: &'static str,
        vendors: &[(&'static str, u64)],
        every: Duration,
    ) -> Self {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let style = ProgressStyle::with_template(
            "{prefix:<12} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let vendors = vendors
            .iter()
            .map(|&(name, total)| Vendor {
                name,
                total,
                done: 0,
                bar: bars.as_ref().map(|m| {
                    let bar = m.add(ProgressBar::new(total));
                    bar.set_style(style.clone());
                    bar.set_prefix(name);
                    bar
                }),
            })
            .collect();
        let now = Instant::now();
        Self {
            verb,
            vendors,
            started: now,
            last_line: now,
            every,
            _bars: bars,
        }
    }

    /// `n` more persons finished at `vendor`.
    pub(crate) fn advance(&mut self, vendor: &str, n: u64) {
        if let Some(v) = self.vendors.iter_mut().find(|v| v.name == vendor) {
            v.done += n;
            if let Some(bar) = &v.bar {
                bar.inc(n);
            }
        }
    }

    /// Without bars: one line per vendor, if `every` has passed since the last.
    pub(crate) fn tick(&mut self) {
        if self._bars.is_some() || self.last_line.elapsed() < self.every {
            return;
        }
        self.last_line = Instant::now();
        self.lines("progress");
    }

    /// The last word: the bars finish, or a last plain line per vendor.
    pub(crate) fn finish(&mut self) {
        if self._bars.is_some() {
            for v in &self.vendors {
                if let Some(bar) = &v.bar {
                    bar.abandon();
                }
            }
        } else {
            self.lines("progress");
        }
    }

    fn lines(&self, label: &str) {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let mut err = std::io::stderr().lock();
        for v in &self.vendors {
            let rate = v.done as f64 / elapsed;
            let left = v.total.saturating_sub(v.done);
            let eta = if left == 0 {
                "done".to_owned()
            } else if rate > 0.0 {
                format!("about {:.0} s left", left as f64 / rate)
            } else {
                "no estimate yet".to_owned()
            };
            let percent = if v.total == 0 {
                100.0
            } else {
                v.done as f64 * 100.0 / v.total as f64
            };
            let _ = writeln!(
                err,
                "{label}: {:<12} {}/{} {} ({percent:.0} %), {rate:.1}/s, {eta}",
                v.name, v.done, v.total, self.verb
            );
        }
    }
}
