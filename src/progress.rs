//! Progress for long work: an indicatif bar or spinner on a terminal's stderr, nothing otherwise
//! (machine output on stdout stays clean).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display that is silent unless asked for and stderr is a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Shows progress when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Progress {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// Shows a step without a count.
    pub fn message(&self, message: &str) {
        if let Some(bar) = &self.bar {
            // Message first: the ticker thread may draw between these calls.
            bar.set_message(message.to_owned());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_length(0);
        }
    }

    /// Shows a step with a count of `done` out of `total`.
    pub fn bar(&self, message: &str, done: usize, total: usize) {
        if let Some(bar) = &self.bar {
            if bar.length() != Some(total as u64) {
                bar.set_message(message.to_owned());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_length(total as u64);
            }
            bar.set_position(done as u64);
        }
    }

    /// Clears the display.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
