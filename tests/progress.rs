//! Progress goes to stderr only, and only when stderr is a terminal: the binary runs on
//! the demo image with stderr on a pseudo-terminal (Python's `pty` module, always present
//! with python3) and stdout in a file, and the report must be byte-for-byte what a run
//! without a terminal writes, with no escape or carriage-return byte in it, while the
//! terminal got bars. `--no-progress`, `-q` and a non-terminal stderr must draw nothing,
//! and log lines must never share a line with a bar. Against moto, an instance scan's
//! terminal shows the instance's snapshot states and the EBS transfer line.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const DEMO: &str = "fixtures/demo/debian12.img";
const BUNDLE: &str = "fixtures/demo/advisories.db";
/// Reports carry their generation time; fixing it makes two runs' reports comparable.
const FIXED_TIME: &str = "1796189619";

/// Runs `argv[2:]` with stdout into the file `argv[1]` and stderr on a new pseudo-terminal,
/// copies everything the terminal received to our stdout, and exits with the child's code.
const PTY_RUNNER: &str = r#"
import os, pty, subprocess, sys
controller, terminal = pty.openpty()
with open(sys.argv[1], "wb") as report:
    child = subprocess.Popen(sys.argv[2:], stdout=report, stderr=terminal, stdin=subprocess.DEVNULL)
os.close(terminal)
received = bytearray()
while True:
    try:
        chunk = os.read(controller, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    received += chunk
sys.stdout.buffer.write(bytes(received))
sys.exit(child.wait())
"#;

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The environment every run gets, whoever starts snapscan.
fn with_environment(command: &mut Command) -> &mut Command {
    command
        .current_dir(repository_root())
        .env("SOURCE_DATE_EPOCH", FIXED_TIME)
        .env("TERM", "xterm")
        .env_remove("SNAPSCAN_LOG")
        .env_remove("SNAPSCAN_CONFIG")
}

/// What one run left: the report (stdout), what stderr received, the exit code.
struct Run {
    report: Vec<u8>,
    terminal: Vec<u8>,
    code: Option<i32>,
}

/// Run snapscan with stderr on a pseudo-terminal and stdout into a file.
fn run_on_terminal(arguments: &[&str], scratch: &Path) -> Run {
    run_on_terminal_with(arguments, scratch, &[])
}

/// The same, with more environment variables.
fn run_on_terminal_with(arguments: &[&str], scratch: &Path, environment: &[(&str, String)]) -> Run {
    let report_path = scratch.join("report");
    let output = with_environment(Command::new("python3").arg("-c").arg(PTY_RUNNER).arg(&report_path))
        .envs(environment.iter().map(|(key, value)| (key, value)))
        .env_remove("AWS_PROFILE")
        .arg(env!("CARGO_BIN_EXE_snapscan"))
        .args(arguments)
        .output()
        .expect("python3 runs the pty runner");
    assert!(output.stderr.is_empty(), "pty runner: {}", String::from_utf8_lossy(&output.stderr));
    Run {
        report: std::fs::read(&report_path).expect("the report file"),
        terminal: output.stdout,
        code: output.status.code(),
    }
}

/// Run snapscan with stdout and stderr both pipes.
fn run_on_pipes(arguments: &[&str]) -> Run {
    let output = with_environment(&mut Command::new(env!("CARGO_BIN_EXE_snapscan")))
        .args(arguments)
        .output()
        .expect("run snapscan");
    Run { report: output.stdout, terminal: output.stderr, code: output.status.code() }
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("snapscan-progress-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

/// The JSON report without what differs between two runs of the same scan (timings).
fn comparable(report: &[u8]) -> serde_json::Value {
    let mut document: serde_json::Value = serde_json::from_slice(report).unwrap_or_else(|error| {
        panic!("stdout is not one JSON document ({error}): {}", String::from_utf8_lossy(report))
    });
    for key in ["elapsed_ms", "bytes_read", "read_calls"] {
        document["stats"][key] = serde_json::Value::Null;
    }
    document
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn scan_arguments<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut arguments = vec!["scan", "image", DEMO, "--db", BUNDLE, "--format", "json"];
    arguments.extend_from_slice(extra);
    arguments
}

#[test]
fn a_terminal_gets_progress_and_stdout_gets_only_the_report() {
    let scratch = scratch("terminal");
    let on_terminal = run_on_terminal(&scan_arguments(&[]), &scratch);
    let on_pipes = run_on_pipes(&scan_arguments(&[]));
    assert_eq!(on_terminal.code, on_pipes.code);
    assert!(
        !on_terminal.report.iter().any(|byte| *byte == 0x1b || *byte == b'\r'),
        "escape or carriage return in stdout"
    );
    assert_eq!(comparable(&on_terminal.report), comparable(&on_pipes.report), "the terminal changed the report");
    let terminal = String::from_utf8_lossy(&on_terminal.terminal);
    // The walk's closing summary is always drawn, however fast the walk was.
    assert!(terminal.contains("fixtures/demo/debian12.img/p2: 82 packages from"), "no walk summary in:\n{terminal}");
    assert!(terminal.contains("files"), "{terminal}");
    assert!(contains(&on_terminal.terminal, b"\x1b["), "bars redraw with escape sequences:\n{terminal}");
    // Without a terminal nothing is drawn: stderr stays empty on a clean scan.
    assert_eq!(String::from_utf8_lossy(&on_pipes.terminal), "", "a pipe got progress");
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn no_progress_and_quiet_draw_nothing_on_a_terminal() {
    let scratch = scratch("off");
    for flag in ["--no-progress", "-q", "--quiet"] {
        let run = run_on_terminal(&scan_arguments(&[flag]), &scratch);
        assert_eq!(run.code, Some(0), "{flag}");
        let terminal = String::from_utf8_lossy(&run.terminal);
        assert!(!terminal.contains("files"), "{flag} still drew progress:\n{terminal}");
        assert!(!contains(&run.terminal, b"\x1b["), "{flag}: escape sequences on the terminal:\n{terminal}");
        comparable(&run.report);
    }
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn log_lines_never_share_a_line_with_a_bar() {
    let scratch = scratch("logs");
    let run = run_on_terminal(&scan_arguments(&["-v"]), &scratch);
    assert_eq!(run.code, Some(0));
    let terminal = String::from_utf8_lossy(&run.terminal);
    let log_lines: Vec<&str> = terminal.split(['\r', '\n']).filter(|line| line.contains("INFO")).collect();
    assert!(!log_lines.is_empty(), "-v logs nothing:\n{terminal}");
    for line in log_lines {
        // A bar line is `<spinner> <volume>/pN: …`; a log line must not carry one.
        assert!(!line.contains("debian12.img/p2:"), "a log line shares a line with a bar: {line:?}");
    }
    comparable(&run.report);
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn an_instance_scan_shows_snapshot_states_and_the_ebs_transfer() {
    let Some(moto) = support::Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &repository_root().join(DEMO));
    let image_id = support::register_image(&runtime, &moto, &snapshot_id);
    let instance_id = support::launch(
        &runtime,
        &moto,
        &image_id,
        support::Launch { root_snapshot: Some(&snapshot_id), ..support::Launch::default() },
    );
    let scratch = scratch("instance");
    let arguments = ["scan", "instance", &instance_id, "--db", BUNDLE, "--format", "json", "--poll-interval", "0.2"];
    let run = run_on_terminal_with(&arguments, &scratch, &moto.environment());
    let terminal = String::from_utf8_lossy(&run.terminal);
    assert_eq!(run.code, Some(0), "{terminal}");
    assert!(!run.report.iter().any(|byte| *byte == 0x1b || *byte == b'\r'), "escape or carriage return in stdout");
    let report = comparable(&run.report);
    assert_eq!(report["coverage"][0]["scanned"], true, "{report}");
    // The instance's line ends on how it went; the snapshot's on what it fetched.
    assert!(terminal.contains(&format!("{instance_id} scanned")), "no instance summary in:\n{terminal}");
    let transfer = terminal
        .split(['\r', '\n'])
        .rfind(|line| line.contains(" read ") && line.contains("MB/s"))
        .unwrap_or_else(|| panic!("no EBS transfer line in:\n{terminal}"));
    let blocks = report["stats"]["ebs"]["blocks_fetched"].as_u64().expect("blocks fetched");
    assert!(transfer.contains(&format!(" read {blocks} blocks, ")), "{transfer:?} against {blocks} blocks fetched");
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn logs_to_a_pipe_are_plain_text() {
    let run = run_on_pipes(&scan_arguments(&["-v"]));
    assert_eq!(run.code, Some(0));
    let logs = String::from_utf8_lossy(&run.terminal);
    assert!(logs.contains("INFO"), "-v logs nothing:\n{logs}");
    assert!(!run.terminal.contains(&0x1b), "escape sequences in logs written to a pipe:\n{logs}");
}
