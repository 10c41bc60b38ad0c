//! Leaving nothing behind: SIGTERM and SIGINT mid-scan delete the snapshots the run made,
//! write the report of what finished (the interrupted instance as `INTERRUPTED`) and exit
//! 143/130; after a SIGKILL, `snapscan cleanup` sweeps them, never touching a
//! snapshot without our tag, and `--dry-run` deletes nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{Launch, Moto};

const DEMO: &str = "fixtures/demo/debian12.img";

/// Start `scan instance` slowed down by block latency, writing its JSON report to `report`,
/// and wait until it is mid-scan: our snapshot exists and blocks are being fetched.
/// Start a scan of one instance whose block reads are slow; returns once it has made its
/// snapshot (tagged with `tag_key`, else the default key) and started reading.
fn start_slow_scan(
    moto: &Moto,
    runtime: &tokio::runtime::Runtime,
    report: &Path,
    tag_key: Option<&str>,
) -> (Child, String) {
    let snapshot_id = support::seed_snapshot(runtime, &moto.sdk_config(), &support::repository_root().join(DEMO));
    let image_id = support::register_image(runtime, moto, &snapshot_id);
    let instance_id =
        support::launch(runtime, moto, &image_id, Launch { root_snapshot: Some(&snapshot_id), ..Launch::default() });
    moto.set_faults(r#"{"latency_ms": {"GetSnapshotBlock": 400}}"#);
    let child = support::snapscan_command(
        moto,
        &[
            "scan",
            "instance",
            &instance_id,
            "--format",
            "json",
            "--output",
            report.to_str().expect("UTF-8 temporary path"),
            "--poll-interval",
            "0.2",
            "--concurrency",
            "1",
            "--tag-key",
            tag_key.unwrap_or(support::SCAN_ID_TAG),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start snapscan");
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut going = false;
    while !going && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let fetching = moto.fault_report()["seen"]["GetSnapshotBlock"].as_u64().unwrap_or(0) >= 2;
        going = fetching
            && !support::tagged_snapshots_with(runtime, moto, tag_key.unwrap_or(support::SCAN_ID_TAG)).is_empty();
    }
    if !going {
        child.kill().ok();
        child.wait().ok();
        panic!("the scan never got going");
    }
    (child, instance_id)
}

/// A report path of this test's own (the tests of this file run in parallel).
fn report_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("snapscan-{name}-{}.json", std::process::id()));
    std::fs::remove_file(&path).ok();
    path
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("run kill");
    assert!(status.success());
}

fn interrupted_run_cleans_up(signal: &str, exit_code: i32, signal_name: &str) {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let report = report_path(signal_name);
    let (child, instance_id) = start_slow_scan(&moto, &runtime, &report, None);
    send(&child, signal);
    let output = child.wait_with_output().expect("wait for snapscan");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(exit_code), "stderr: {stderr}");
    assert!(stderr.contains("interrupted; deleting the snapshots"), "stderr: {stderr}");
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty(), "tagged snapshots left behind; stderr: {stderr}");

    // The report of what finished: the instance was mid-scan, so it is INTERRUPTED, with no
    // packages from its partial walk, and an error issue names the signal.
    let text = std::fs::read_to_string(&report).unwrap_or_else(|error| panic!("no report: {error}; stderr: {stderr}"));
    std::fs::remove_file(&report).ok();
    let report: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    let coverage = report["coverage"].as_array().expect("coverage");
    let entry = coverage.iter().find(|entry| entry["target"] == instance_id.as_str()).expect("instance in coverage");
    assert_eq!(entry["scanned"], false, "{entry}");
    assert_eq!(entry["reason"], "INTERRUPTED", "{entry}");
    assert!(report["packages"].as_array().expect("packages").is_empty(), "partial packages reported");
    let issues = report["issues"].as_array().expect("issues");
    assert!(
        issues.iter().any(|issue| issue["message"].as_str().is_some_and(|message| message.contains(signal_name))),
        "no issue names {signal_name}: {issues:?}"
    );
}

#[test]
fn sigterm_mid_scan_deletes_our_snapshots_and_exits_143() {
    interrupted_run_cleans_up("-TERM", 143, "SIGTERM");
}

#[test]
fn sigint_mid_scan_deletes_our_snapshots_and_exits_130() {
    interrupted_run_cleans_up("-INT", 130, "SIGINT");
}

#[test]
fn cleanup_after_sigkill_sweeps_only_tagged_snapshots() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let report = report_path("SIGKILL");
    let (mut child, _) = start_slow_scan(&moto, &runtime, &report, None);
    send(&child, "-KILL");
    child.wait().expect("reap snapscan");
    assert!(!report.exists(), "a killed run cannot write a report");
    moto.set_faults("{}");
    let left = support::tagged_snapshots(&runtime, &moto);
    assert!(!left.is_empty(), "a killed run leaves its snapshot");

    // Snapshots that are not ours: untagged, and tagged with some other key.
    let ec2 = support::ec2(&moto);
    let (untagged, other) = runtime.block_on(async {
        let volume = ec2.create_volume().availability_zone("us-east-1a").size(1).send().await.expect("CreateVolume");
        let volume_id = volume.volume_id().expect("volume id");
        let untagged = ec2.create_snapshot().volume_id(volume_id).send().await.expect("CreateSnapshot");
        let other = ec2
            .create_snapshot()
            .volume_id(volume_id)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot)
                    .tags(aws_sdk_ec2::types::Tag::builder().key("snapscan:other").value("x").build())
                    .build(),
            )
            .send()
            .await
            .expect("CreateSnapshot");
        (untagged.snapshot_id().unwrap().to_string(), other.snapshot_id().unwrap().to_string())
    });

    // Too recent for the default threshold: kept.
    let output = support::snapscan(&moto, &["cleanup"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(support::tagged_snapshots(&runtime, &moto), left);

    // A dry run lists but deletes nothing.
    let output = support::snapscan(&moto, &["cleanup", "--older-than", "0", "--dry-run"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(left.iter().all(|id| stdout.contains(id)) && stdout.contains("would delete"), "{stdout}");
    assert_eq!(support::tagged_snapshots(&runtime, &moto), left);

    let output = support::snapscan(&moto, &["cleanup", "--older-than", "0"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("deleted"));
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty());
    let remaining = support::all_snapshots(&runtime, &moto);
    assert!(remaining.contains(&untagged) && remaining.contains(&other), "cleanup touched a snapshot that is not ours");
}

#[test]
fn a_configured_tag_key_marks_and_sweeps_the_snapshots() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let report = report_path("tag-key");
    let key = "team:scanner-run";
    let (mut child, _) = start_slow_scan(&moto, &runtime, &report, Some(key));
    send(&child, "-KILL");
    child.wait().expect("reap snapscan");
    moto.set_faults("{}");
    let left = support::tagged_snapshots_with(&runtime, &moto, key);
    assert!(!left.is_empty(), "the snapshot carries the configured key");
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty(), "and not the default one");

    // A sweep with the default key does not see them; one with the configured key does.
    let output = support::snapscan(&moto, &["cleanup", "--older-than", "0"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(support::tagged_snapshots_with(&runtime, &moto, key), left);
    let output = support::snapscan(&moto, &["cleanup", "--older-than", "0", "--tag-key", key]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(support::tagged_snapshots_with(&runtime, &moto, key).is_empty());
}
