//! Every snapshot we create is written here the moment `CreateSnapshots` returns, and
//! deleted from here whatever happens: after its scan, at the end of the run, on error, on
//! Ctrl-C and on SIGTERM.
//!
//! On the first SIGINT/SIGTERM the ledger closes (no new `CreateSnapshots` may start),
//! snapshot reads stop ([`STOP`]), it waits for creates already in flight so their
//! snapshots are known, deletes everything recorded and prints what could not be deleted.
//! Meanwhile the run winds down: what was finished is reported, the rest is marked
//! `INTERRUPTED`, and the process exits 130/143 once the report is written (or after
//! [`REPORT_GRACE`] if it never is). Further signals during the cleanup do not stop it;
//! they print which snapshots are still to be deleted; after it, they exit at once. A
//! SIGKILL cannot be caught: `snapscan cleanup` sweeps what such a run left (by tag).

use super::{Session, ec2};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Raised by the first SIGINT/SIGTERM: snapshot reads fail at once from then on, so a walk
/// in progress ends in moments instead of waiting on round trips it no longer needs.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// The exit code the interrupting signal asks for (130 SIGINT, 143 SIGTERM), 0 before one.
static INTERRUPT_EXIT_CODE: AtomicU8 = AtomicU8::new(0);

/// How long after the cleanup the process waits for the report of what was scanned.
pub const REPORT_GRACE: Duration = Duration::from_secs(60);

/// The exit code to end with if a signal interrupted the run (130 or 143).
pub fn interrupted_exit_code() -> Option<u8> {
    match INTERRUPT_EXIT_CODE.load(Ordering::SeqCst) {
        0 => None,
        code => Some(code),
    }
}

/// The signal's name for reports.
pub fn interrupting_signal() -> Option<&'static str> {
    interrupted_exit_code().map(|code| if code == 143 { "SIGTERM" } else { "SIGINT" })
}

/// Snapshots created by this run and not yet deleted.
pub struct Ledger {
    session: Arc<Session>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// (region, snapshot id).
    snapshots: BTreeSet<(String, String)>,
    /// `CreateSnapshots` calls in flight.
    creating: usize,
    /// Closed by a signal: no more creates.
    closed: bool,
}

/// Proof that a create may run; its snapshots must be [`CreateGuard::record`]ed.
pub struct CreateGuard<'ledger> {
    ledger: &'ledger Ledger,
}

impl CreateGuard<'_> {
    /// Remember snapshots just created in `region`.
    pub fn record(&self, region: &str, snapshot_ids: impl IntoIterator<Item = String>) {
        let mut state = self.ledger.lock();
        for id in snapshot_ids {
            state.snapshots.insert((region.to_string(), id));
        }
    }
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.ledger.lock();
        state.creating = state.creating.saturating_sub(1);
        self.ledger.changed.notify_all();
    }
}

/// How long a signal-triggered cleanup waits for creates in flight.
const CREATE_DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

impl Ledger {
    /// An empty ledger deleting through `session`.
    pub fn new(session: Arc<Session>) -> Arc<Self> {
        Arc::new(Self { session, state: Mutex::new(State::default()), changed: Condvar::new() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Permission to create snapshots, or `None` once the run is being interrupted.
    pub fn begin_create(&self) -> Option<CreateGuard<'_>> {
        let mut state = self.lock();
        if state.closed {
            return None;
        }
        state.creating = state.creating.saturating_add(1);
        Some(CreateGuard { ledger: self })
    }

    /// True once a signal closed the ledger.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Snapshots still recorded (not yet deleted).
    pub fn remaining(&self) -> Vec<(String, String)> {
        self.lock().snapshots.iter().cloned().collect()
    }

    /// Delete the given snapshots (they stay recorded if the delete fails); returns failures.
    pub fn delete(&self, snapshots: &[(String, String)]) -> Vec<ec2::CallError> {
        let mut failures = Vec::new();
        for (region, id) in snapshots {
            match ec2::delete_snapshot(&self.session, region, id) {
                Ok(()) => {
                    self.lock().snapshots.remove(&(region.clone(), id.clone()));
                    tracing::info!(snapshot = %id, "deleted snapshot");
                }
                Err(error) => {
                    tracing::error!(snapshot = %id, "cannot delete snapshot: {error}");
                    failures.push(error);
                }
            }
        }
        failures
    }

    /// Delete everything recorded; returns failures.
    pub fn delete_all(&self) -> Vec<ec2::CallError> {
        self.delete(&self.remaining())
    }

    /// Close, let creates in flight finish recording, then delete everything recorded.
    pub fn close_and_delete_all(&self) -> Vec<ec2::CallError> {
        let deadline = Instant::now() + CREATE_DRAIN_TIMEOUT;
        let mut state = self.lock();
        state.closed = true;
        while state.creating > 0 && Instant::now() < deadline {
            let (next, _) =
                self.changed.wait_timeout(state, Duration::from_millis(100)).unwrap_or_else(PoisonError::into_inner);
            state = next;
        }
        drop(state);
        self.delete_all()
    }

    /// On SIGINT/SIGTERM: stop reads, clean up, say what remains, and leave the exit
    /// (130/143) to the main thread once it has written its report, or exit after
    /// [`REPORT_GRACE`] or on another signal. Call once, before the first snapshot is
    /// created.
    pub fn exit_cleanly_on_signals(self: &Arc<Self>) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (mut interrupt, mut terminate) = {
            let _context = runtime.enter();
            (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
        };
        let ledger = Arc::clone(self);
        std::thread::Builder::new().name("snapscan-signals".to_string()).spawn(move || {
            let exit_code: u8 = runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => 130,
                    _ = terminate.recv() => 143,
                }
            });
            INTERRUPT_EXIT_CODE.store(exit_code, Ordering::SeqCst);
            STOP.store(true, Ordering::SeqCst);
            eprintln!("snapscan: interrupted; deleting the snapshots this run created");
            let (done_sender, mut done) = tokio::sync::oneshot::channel();
            let cleaner = Arc::clone(&ledger);
            std::thread::spawn(move || {
                let failures = cleaner.close_and_delete_all();
                done_sender.send(failures).ok();
            });
            let failures = runtime.block_on(async {
                loop {
                    tokio::select! {
                        failures = &mut done => break failures.unwrap_or_default(),
                        _ = interrupt.recv() => say_remaining(&ledger),
                        _ = terminate.recv() => say_remaining(&ledger),
                    }
                }
            });
            for failure in &failures {
                eprintln!("snapscan: {failure}");
            }
            let remaining = ledger.remaining();
            if !remaining.is_empty() {
                let ids: Vec<&str> = remaining.iter().map(|(_, id)| id.as_str()).collect();
                eprintln!("snapscan: could not delete {}; `snapscan cleanup` will sweep them", ids.join(", "));
            }
            // The main thread writes the report of what was finished and exits with the code.
            let ended_by = runtime.block_on(async {
                tokio::select! {
                    _ = tokio::time::sleep(REPORT_GRACE) => "the report was not written in time",
                    _ = interrupt.recv() => "interrupted again before the report was written",
                    _ = terminate.recv() => "terminated again before the report was written",
                }
            });
            eprintln!("snapscan: {ended_by}");
            std::process::exit(i32::from(exit_code));
        })?;
        Ok(())
    }
}

fn say_remaining(ledger: &Ledger) {
    let remaining: Vec<String> = ledger.remaining().into_iter().map(|(_, id)| id).collect();
    eprintln!(
        "snapscan: still deleting snapshots, please wait: {}",
        if remaining.is_empty() { "(creates in flight)".to_string() } else { remaining.join(", ") }
    );
}
