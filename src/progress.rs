//! Progress on stderr: one line per partition walked (files listed so far), per EBS
//! snapshot read (blocks, MiB, MB/s) and per instance (snapshot state), drawn by
//! `indicatif` into one `MultiProgress`.
//!
//! The terminal is one per process, like the logger, so the bars are too: `main` calls
//! [`start`] once with the settings' decision (stderr a terminal, no `-q`, no
//! `--no-progress`), and code deep in a scan asks [`bars`] for a line without the
//! settings being threaded through every layer. Before [`start`], and when progress is
//! off, every bar is hidden and costs an atomic add. Log lines go through [`LogWriters`],
//! which lifts the bars while a line is written, so logs never land inside a bar.
//!
//! Every bar ends with a summary drawn whatever the refresh rate (`finish_with_message`
//! forces a draw): a scan too fast for a tick still shows what it did.

use crate::fs::{DirEntry, EntryWithMetadata, FileReader, Filesystem, FsError, Metadata};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

/// How often bars with live counters redraw (indicatif caps terminal draws at 20 Hz).
const TICK: Duration = Duration::from_millis(100);

/// A partition walk: `disk.img/p2: walking 1,234 files`, then `disk.img/p2: 82 packages from 1,234 files`.
const WALK_TEMPLATE: &str = "{spinner} {prefix}: {msg} {human_pos} files";
/// A snapshot read; `{fetched}` is polled from the source's counters.
const TRANSFER_TEMPLATE: &str = "{spinner} {prefix} {msg} {fetched}";
/// An instance: `i-0abc waiting 40% (1m)`.
const INSTANCE_TEMPLATE: &str = "{spinner} {prefix} {msg} ({elapsed})";

static BARS: OnceLock<Bars> = OnceLock::new();

/// The run's progress lines.
#[derive(Debug)]
pub struct Bars {
    multi: MultiProgress,
}

/// Turn progress on (draw on stderr) or off for this process. Only the first call
/// counts; bars asked for before it are hidden.
pub fn start(enabled: bool) {
    let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let _ = BARS.set(Bars { multi: MultiProgress::with_draw_target(target) });
}

/// The process's progress lines (hidden ones before [`start`]).
pub fn bars() -> &'static Bars {
    BARS.get_or_init(|| Bars { multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()) })
}

/// Bars are made hidden and configured before `MultiProgress::add` gives them the real
/// target: configuring a bar draws it, and a fresh bar would draw to stderr on its own.
fn spinner_style(template: &str) -> ProgressStyle {
    // The templates are literals below; a bad one is a programming error caught by the tests,
    // and falls back to the default spinner rather than failing a scan.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Bars {
    /// Whether anything is drawn.
    pub fn is_hidden(&self) -> bool {
        self.multi.is_hidden()
    }

    /// A spinner counting the entries listed while walking `name` (a volume's partition).
    pub fn walk(&self, name: &str) -> WalkBar {
        let bar = ProgressBar::hidden().with_style(spinner_style(WALK_TEMPLATE));
        bar.set_prefix(name.to_string());
        bar.set_message("walking");
        WalkBar(self.multi.add(bar))
    }

    /// A spinner showing a transfer: `counters` gives (blocks fetched, bytes fetched) and is
    /// polled on every tick, so the source it reads needs no knowledge of bars.
    pub fn transfer(&self, name: &str, counters: impl Fn() -> (u64, u64) + Send + Sync + 'static) -> TransferBar {
        let counters = std::sync::Arc::new(counters);
        let fetched = move |state: &ProgressState, output: &mut dyn std::fmt::Write| {
            let _ = output.write_str(&transfer_summary(counters(), state.elapsed()));
        };
        let bar = ProgressBar::hidden().with_style(spinner_style(TRANSFER_TEMPLATE).with_key("fetched", fetched));
        bar.set_prefix(name.to_string());
        bar.set_message("reading");
        let bar = self.multi.add(bar);
        bar.enable_steady_tick(TICK);
        TransferBar(bar)
    }

    /// A spinner for one instance's snapshot life: creating, waiting, scanning, deleting.
    pub fn instance(&self, instance_id: &str) -> InstanceBar {
        let bar = ProgressBar::hidden().with_style(spinner_style(INSTANCE_TEMPLATE));
        bar.set_prefix(instance_id.to_string());
        bar.set_message("queued");
        InstanceBar(self.multi.add(bar))
    }

    /// Write `bytes` to stderr with the bars lifted, so a log line never lands in one.
    fn write_log(&self, bytes: &[u8]) {
        self.multi.suspend(|| {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(bytes);
            let _ = stderr.flush();
        });
    }
}

/// `1234 blocks, 617.0 MiB, 41.2 MB/s` (MB/s in decimal megabytes, as AWS quotes throughput).
fn transfer_summary((blocks, bytes): (u64, u64), elapsed: Duration) -> String {
    // f64 for display only: exact below 2^53 bytes, plenty for a volume.
    let mebibytes = bytes as f64 / (1024.0 * 1024.0);
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { bytes as f64 / 1_000_000.0 / seconds } else { 0.0 };
    format!("{blocks} blocks, {mebibytes:.1} MiB, {rate:.1} MB/s")
}

/// A partition walk's line.
#[derive(Debug)]
pub struct WalkBar(ProgressBar);

impl WalkBar {
    /// Leave the line with what the walk saw.
    pub fn finish(&self, packages: usize) {
        self.0.finish_with_message(format!("{packages} packages from"));
    }
}

/// A snapshot read's line.
#[derive(Debug)]
pub struct TransferBar(ProgressBar);

impl TransferBar {
    /// Leave the line with the final counters.
    pub fn finish(&self) {
        self.0.finish_with_message("read");
    }
}

/// An instance's line.
#[derive(Debug)]
pub struct InstanceBar(ProgressBar);

impl InstanceBar {
    /// Show what is happening now (`creating snapshots`, `waiting 40%`, `scanning`).
    pub fn state(&self, state: impl Into<String>) {
        self.0.set_message(state.into());
        self.0.tick();
    }

    /// Leave the line with how it ended (`scanned`, `skipped: …`, `failed`).
    pub fn finish(&self, outcome: impl Into<String>) {
        self.0.finish_with_message(outcome.into());
    }
}

/// A filesystem that counts, on a walk's line, the entries of every directory listed.
/// Only listing is counted: that is what "files walked" means, and opening files for
/// catalogers goes straight to the inner filesystem.
///
/// `inner` is the filesystem borrowed or owned (a parallel walker's own handle), and the
/// line is shared: every walker of a partition counts on the same one.
pub struct CountingFilesystem<F> {
    inner: F,
    bar: ProgressBar,
}

impl<F> CountingFilesystem<F> {
    /// Count `inner`'s listings on `bar`.
    pub fn new(inner: F, bar: &WalkBar) -> Self {
        Self { inner, bar: bar.0.clone() }
    }
}

impl<F> Filesystem for CountingFilesystem<F>
where
    F: std::ops::Deref,
    F::Target: Filesystem,
{
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn uuid(&self) -> Option<String> {
        self.inner.uuid()
    }
    fn label(&self) -> Option<String> {
        self.inner.label()
    }
    fn symlink_metadata(&self, path: &[u8]) -> Result<Metadata, FsError> {
        self.inner.symlink_metadata(path)
    }
    fn read_dir(&self, path: &[u8]) -> Result<Vec<DirEntry>, FsError> {
        self.inner.read_dir(path)
    }
    fn read_dir_with_metadata(&self, path: &[u8]) -> Result<Vec<EntryWithMetadata>, FsError> {
        let entries = self.inner.read_dir_with_metadata(path)?;
        self.bar.inc(u64::try_from(entries.len()).unwrap_or(u64::MAX));
        Ok(entries)
    }
    fn read_link(&self, path: &[u8]) -> Result<Vec<u8>, FsError> {
        self.inner.read_link(path)
    }
    fn open(&self, path: &[u8]) -> Result<Box<dyn FileReader + '_>, FsError> {
        self.inner.open(path)
    }
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings()
    }
    fn prefetch_files(&self, directory: &[u8], names: &[&[u8]]) -> crate::source::Prefetched {
        self.inner.prefetch_files(directory, names)
    }
    fn keep_directory(&self, path: &[u8]) -> crate::source::Prefetched {
        self.inner.keep_directory(path)
    }
}

/// `tracing_subscriber` writers that lift the bars for each log line.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriters;

/// One log line, buffered and written whole when dropped (the subscriber writes an event
/// in pieces; writing them as they come would let a bar redraw in between).
#[derive(Debug, Default)]
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            bars().write_log(&self.0);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriters {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_summary_gives_blocks_mebibytes_and_rate() {
        let summary = transfer_summary((2, 1_048_576), Duration::from_secs(2));
        assert_eq!(summary, "2 blocks, 1.0 MiB, 0.5 MB/s");
        assert_eq!(transfer_summary((0, 0), Duration::ZERO), "0 blocks, 0.0 MiB, 0.0 MB/s");
    }

    #[test]
    fn hidden_bars_still_count_and_templates_parse() {
        let bars = Bars { multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()) };
        assert!(bars.is_hidden());
        for template in [WALK_TEMPLATE, TRANSFER_TEMPLATE, INSTANCE_TEMPLATE] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
        let walk = bars.walk("disk.img/p1");
        walk.0.inc(3);
        assert_eq!(walk.0.position(), 3);
        walk.finish(1);
        let transfer = bars.transfer("snap-1", || (1, 524_288));
        transfer.finish();
        let instance = bars.instance("i-1");
        instance.state("waiting 40%");
        assert_eq!(instance.0.message(), "waiting 40%");
        instance.finish("scanned");
    }
}
