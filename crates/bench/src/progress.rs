//! The progress bar shown on the terminal while a run goes on (on stderr, so `--json` output on
//! stdout stays clean); hidden in tests and when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A handle on the progress display.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar on stderr (drawn only if stderr is a terminal).
    pub fn stderr() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(5));
        Progress { bar }
    }

    /// No display at all.
    pub fn hidden() -> Self {
        Progress { bar: ProgressBar::hidden() }
    }

    /// Start a phase of `len` steps (clients to connect, seconds to measure...).
    pub fn phase(&self, name: &str, len: u64, unit: &str) {
        let template =
            format!("{{prefix:>12}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}}");
        self.bar.set_style(
            ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_prefix(name.to_owned());
        self.bar.set_length(len);
        self.bar.set_position(0);
        self.bar.set_message("");
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    pub fn set(&self, pos: u64, message: impl Into<String>) {
        self.bar.set_position(pos);
        self.bar.set_message(message.into());
    }

    /// Remove the bar before the summary is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
