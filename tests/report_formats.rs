//! Report formats as users get them from the binary: exact output of every format on the
//! demo image (snapshots with the run time fixed by `SOURCE_DATE_EPOCH` and elapsed times
//! filtered), several formats into `--output-dir` with `latest.*`, the output-directory
//! lock against overlapping runs, and the exit-code contract.
//!
//! Snapshots live in `tests/snapshots/`. After an intended change, regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test --test report_formats` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 2026-12-02T05:33:39Z, the time every snapshot carries.
const FIXED_TIME: &str = "1796189619";
const DEMO: &str = "fixtures/demo/debian12.img";

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn snapscan(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(arguments)
        .current_dir(repository_root())
        .env("SOURCE_DATE_EPOCH", FIXED_TIME)
        .env("SNAPSCAN_AWS_ACCOUNT_ID", "123456789012")
        .env("AWS_REGION", "eu-west-1")
        .env_remove("SNAPSCAN_LOG")
        .output()
        .expect("run snapscan")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Replace what changes from run to run (elapsed time) or with every reader tuning (bytes
/// and read calls) with placeholders; what was found stays exact.
fn filter_timings(text: &str) -> String {
    text.lines()
        .map(|line| {
            for key in ["\"elapsed_ms\": ", "\"bytes_read\": ", "\"read_calls\": "] {
                if let Some((head, tail)) = line.split_once(key) {
                    let rest = tail.trim_start_matches(|character: char| character.is_ascii_digit());
                    return format!("{head}{key}\"[filtered]\"{rest}");
                }
            }
            // The table's summary: "36 packages, …; read 0.1 MiB in 14 calls, 28 files visited, 7 ms".
            if let Some((head, read)) = line.split_once("; read ") {
                if let Some((_, after_calls)) = read.split_once(" calls, ") {
                    let counts = after_calls.rsplit_once(", ").map_or(after_calls, |(counts, _elapsed)| counts);
                    return format!("{head}; read [filtered], {counts}, [elapsed]");
                }
            }
            // The table's bundle line says how old the bundle is now.
            if line.starts_with("Advisory bundle built ") {
                if let Some((head, _age)) = line.split_once(" (") {
                    return format!("{head} ([age]), {}", line.rsplit_once(", ").map_or("", |(_, count)| count));
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compare with `tests/snapshots/<name>`, or write it under `UPDATE_SNAPSHOTS=1`.
fn assert_snapshot(name: &str, actual: &str) {
    let path = repository_root().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("create snapshot directory");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("snapshot {} ({error}); run with UPDATE_SNAPSHOTS=1", path.display()));
    if expected != actual {
        let first_difference = expected.lines().zip(actual.lines()).position(|(left, right)| left != right);
        panic!(
            "{name} differs from its snapshot (first differing line {:?}); run with UPDATE_SNAPSHOTS=1 and review\n--- actual ---\n{actual}",
            first_difference.map(|index| index + 1)
        );
    }
}

#[test]
fn every_format_on_the_demo_image_matches_its_snapshot() {
    for (format, snapshot) in [
        ("table", "demo.txt"),
        ("json", "demo.json"),
        ("cyclonedx", "demo.cdx.json"),
        ("spdx", "demo.spdx.json"),
        ("sarif", "demo.sarif"),
        ("csv", "demo.csv"),
        ("asff", "demo.asff.json"),
    ] {
        let output = snapscan(&["scan", "image", DEMO, "--db", "fixtures/demo/advisories.db", "--format", format]);
        assert_eq!(output.status.code(), Some(0), "{format}: {}", stderr(&output));
        assert!(output.stderr.is_empty(), "{format} wrote to stderr: {}", stderr(&output));
        let text = String::from_utf8(output.stdout).expect("reports are UTF-8");
        assert_snapshot(snapshot, &filter_timings(&text));
    }
}

fn scratch_directory(name: &str) -> PathBuf {
    let directory = repository_root().join("target/report-formats").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

fn file_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("list output directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

#[test]
fn several_formats_go_to_the_output_directory_with_latest_copies() {
    let directory = scratch_directory("several");
    let directory_text = directory.to_string_lossy().into_owned();
    let output =
        snapscan(&["-q", "scan", "image", DEMO, "-f", "json,sarif,cyclonedx", "--output-dir", &directory_text]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "nothing on stdout with --output-dir");
    assert_eq!(
        file_names(&directory),
        [
            ".snapscan.lock",
            "latest.cdx.json",
            "latest.json",
            "latest.sarif",
            "snapscan-20261202T053339Z.cdx.json",
            "snapscan-20261202T053339Z.json",
            "snapscan-20261202T053339Z.sarif",
        ]
    );
    let latest = std::fs::read(directory.join("latest.sarif")).expect("latest.sarif");
    assert_eq!(latest, std::fs::read(directory.join("snapscan-20261202T053339Z.sarif")).expect("report"));
    let report: serde_json::Value = serde_json::from_slice(&latest).expect("SARIF is JSON");
    assert_eq!(report["version"], "2.1.0");

    // A second run in the same second keeps the first and moves `latest`.
    let again = snapscan(&["-q", "scan", "image", DEMO, "-f", "json", "--output-dir", &directory_text]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(directory.join("snapscan-20261202T053339Z-2.json").exists());
    assert_eq!(
        std::fs::read(directory.join("latest.json")).expect("latest.json"),
        std::fs::read(directory.join("snapscan-20261202T053339Z-2.json")).expect("second report")
    );
    std::fs::remove_dir_all(&directory).expect("clean up");
}

#[test]
fn a_locked_output_directory_refuses_a_second_run() {
    let directory = scratch_directory("locked");
    let directory_text = directory.to_string_lossy().into_owned();
    // This process plays the run that is still going.
    let running = snapscan::report::output_directory::OutputDirectory::lock(&directory).expect("take the lock");
    let output = snapscan(&["scan", "image", DEMO, "-f", "json", "--output-dir", &directory_text]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("another snapscan run") && message.contains(&directory_text), "{message}");
    assert!(message.contains(&format!("pid {}", std::process::id())), "names the holder: {message}");
    assert!(output.stdout.is_empty());
    assert_eq!(file_names(&directory), [".snapscan.lock"], "the refused run wrote nothing");
    drop(running);
    let after = snapscan(&["-q", "scan", "image", DEMO, "-f", "json", "--output-dir", &directory_text]);
    assert_eq!(after.status.code(), Some(0), "free once the first run ends: {}", stderr(&after));
    std::fs::remove_dir_all(&directory).expect("clean up");
}

#[test]
fn two_concurrent_runs_never_both_write_and_leave_whole_reports() {
    let directory = scratch_directory("concurrent");
    let directory_text = directory.to_string_lossy().into_owned();
    let arguments = ["-q", "scan", "image", DEMO, DEMO, DEMO, "-f", "json,cyclonedx", "--output-dir", &directory_text];
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_snapscan"))
            .args(arguments)
            .current_dir(repository_root())
            .env("SOURCE_DATE_EPOCH", FIXED_TIME)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn snapscan")
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [first.wait_with_output().expect("first run"), second.wait_with_output().expect("second run")];
    let mut succeeded = 0;
    for output in &outputs {
        match output.status.code() {
            Some(0) => succeeded += 1,
            Some(2) => assert!(stderr(output).contains("another snapscan run"), "{}", stderr(output)),
            other => panic!("unexpected exit {other:?}: {}", stderr(output)),
        }
    }
    assert!(succeeded >= 1, "at least one run completes");
    // Either both ran one after the other (two sets of reports) or one was refused (one set).
    let reports = file_names(&directory).iter().filter(|name| name.starts_with("snapscan-")).count();
    assert_eq!(reports, succeeded * 2);
    for name in ["latest.json", "latest.cdx.json"] {
        let bytes = std::fs::read(directory.join(name)).expect("latest exists");
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .unwrap_or_else(|error| panic!("{name} is whole JSON: {error}"));
    }
    assert!(!file_names(&directory).iter().any(|name| name.ends_with(".tmp")), "no temporary files left");
    std::fs::remove_dir_all(&directory).expect("clean up");
}

#[test]
fn exit_codes_follow_the_documented_contract() {
    // Clean, even with a threshold, as the demo image has no findings.
    assert_eq!(snapscan(&["-q", "scan", "image", DEMO, "-f", "json", "--fail-on", "low"]).status.code(), Some(0));
    // Partial: one target scanned, one not.
    let partial = snapscan(&["-q", "scan", "image", DEMO, "does/not/exist.img", "-f", "json"]);
    assert_eq!(partial.status.code(), Some(3), "{}", stderr(&partial));
    let report: serde_json::Value = serde_json::from_slice(&partial.stdout).expect("the report is still written");
    assert!(report["targets"][1]["error"].is_string());
    // Error: nothing could be scanned.
    assert_eq!(snapscan(&["-q", "scan", "image", "does/not/exist.img", "-f", "json"]).status.code(), Some(2));
    // Error: several formats without a directory, and an unknown threshold.
    let several = snapscan(&["scan", "image", DEMO, "-f", "json,csv"]);
    assert_eq!(several.status.code(), Some(2));
    assert!(stderr(&several).contains("several formats need --output-dir"), "{}", stderr(&several));
    assert_eq!(snapscan(&["scan", "image", DEMO, "--fail-on", "severe"]).status.code(), Some(2));
    assert_eq!(snapscan(&["scan", "image", DEMO, "-o", "x.json", "--output-dir", "reports"]).status.code(), Some(2));
}

#[test]
fn help_documents_formats_and_exit_codes() {
    let output = snapscan(&["scan", "image", "--help"]);
    let text = String::from_utf8_lossy(&output.stdout);
    for word in ["cyclonedx", "spdx", "sarif", "csv", "asff", "--output-dir", "--fail-on", "--packages-only"] {
        assert!(text.contains(word), "{word} missing from help:\n{text}");
    }
    let top = String::from_utf8_lossy(&snapscan(&["--help"]).stdout).into_owned();
    assert!(top.contains("Exit codes: 0 clean; 1 a finding at or above --fail-on"), "{top}");
}
