//! `snapscan scan snapshot|ami|instance|instances` against moto on loopback: the demo
//! image seeded as a snapshot gives the same packages as scanning the image file, through
//! every target kind and under injected faults; instance eligibility gives one reason code
//! per instance; and no snapshot carrying our tag is left afterwards.

mod support;

use serde_json::Value;
use support::{Launch, Moto};

const DEMO: &str = "fixtures/demo/debian12.img";

fn image_packages() -> Vec<(String, String)> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(["scan", "image", DEMO, "--format", "json"])
        .current_dir(support::repository_root())
        .output()
        .expect("run snapscan");
    let packages = support::package_versions(&support::json(&output));
    assert!(packages.len() > 10, "the demo image has packages: {packages:?}");
    packages
}

fn coverage_of<'a>(report: &'a Value, target: &str) -> &'a Value {
    report["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .find(|entry| entry["target"] == target)
        .unwrap_or_else(|| panic!("no coverage for {target}: {report}"))
}

fn assert_succeeded(output: &std::process::Output) {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn snapshot_scan_matches_image_scan() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &support::repository_root().join(DEMO));
    let output = support::snapscan(&moto, &["scan", "snapshot", &snapshot_id, "--format", "json"]);
    assert_succeeded(&output);
    let report = support::json(&output);
    assert_eq!(support::package_versions(&report), image_packages());
    let coverage = coverage_of(&report, &snapshot_id);
    assert_eq!(coverage["scanned"], true);
    assert_eq!(coverage["kind"], "snapshot");
    let ebs = &report["stats"]["ebs"];
    assert!(ebs["blocks_fetched"].as_u64() >= Some(1), "{ebs}");
    assert!(ebs["blocks_fetched"].as_u64() <= ebs["blocks_allocated"].as_u64(), "{ebs}");
    assert!(ebs["estimated_cost_usd"].as_f64() > Some(0.0), "{ebs}");
    assert_eq!(report["packages"][0]["locations"][0]["volume"], snapshot_id.as_str());
    // An existing snapshot is never ours to delete.
    assert!(support::all_snapshots(&runtime, &moto).contains(&snapshot_id));
}

#[test]
fn ami_and_instance_scans_match_image_scan_and_leave_nothing() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &support::repository_root().join(DEMO));
    let image_id = support::register_image(&runtime, &moto, &snapshot_id);
    let expected = image_packages();

    let output = support::snapscan(&moto, &["scan", "ami", &image_id, "--format", "json"]);
    assert_succeeded(&output);
    let report = support::json(&output);
    assert_eq!(support::package_versions(&report), expected);
    assert_eq!(coverage_of(&report, &image_id)["scanned"], true);

    let instance_id =
        support::launch(&runtime, &moto, &image_id, Launch { root_snapshot: Some(&snapshot_id), ..Launch::default() });
    let before = support::all_snapshots(&runtime, &moto);
    let output =
        support::snapscan(&moto, &["scan", "instance", &instance_id, "--format", "json", "--poll-interval", "0.2"]);
    assert_succeeded(&output);
    let report = support::json(&output);
    assert_eq!(support::package_versions(&report), expected);
    let coverage = coverage_of(&report, &instance_id);
    assert_eq!(coverage["scanned"], true, "{coverage}");
    assert_eq!(coverage["reason"], Value::Null);
    let volume = &coverage["volumes"][0];
    assert_eq!(volume["scanned"], true);
    assert!(volume["snapshot_id"].as_str().is_some_and(|id| id.starts_with("snap-")), "{volume}");
    assert!(!coverage["scan_time"].as_str().unwrap_or_default().is_empty());
    // Locations name the EBS volume, not our temporary snapshot.
    assert_eq!(report["packages"][0]["locations"][0]["volume"], volume["volume_id"]);
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty(), "tagged snapshots left behind");
    let (mut after, mut before) = (support::all_snapshots(&runtime, &moto), before);
    after.sort();
    before.sort();
    assert_eq!(after, before, "exactly our snapshots were deleted");
}

#[test]
fn instance_eligibility_reasons() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &support::repository_root().join(DEMO));
    let image_id = support::register_image(&runtime, &moto, &snapshot_id);
    let root = Some(snapshot_id.as_str());
    let fleet = [("Fleet", "test")];
    let with_tags =
        |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> { fleet.iter().chain(extra).copied().collect() };
    let scanned = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch { root_snapshot: root, tags: with_tags(&[]), ..Launch::default() },
    );
    let excluded = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch { root_snapshot: root, tags: with_tags(&[("InspectorEc2Exclusion", "")]), ..Launch::default() },
    );
    let excluded_ours = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch { root_snapshot: root, tags: with_tags(&[("snapscan:exclude", "yes")]), ..Launch::default() },
    );
    let windows = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch { image_id: Some("ami-03cf127a"), root_snapshot: root, tags: with_tags(&[]), ..Launch::default() },
    );
    let instance_store = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch {
            root_snapshot: root,
            tags: with_tags(&[("snapscan-test:root-device-type", "instance-store")]),
            ..Launch::default()
        },
    );
    let stopped = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch { root_snapshot: root, tags: with_tags(&[]), ..Launch::default() },
    );
    support::stop(&runtime, &moto, &stopped);
    let crowded = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch {
            root_snapshot: root,
            data_volumes: vec![(1, None), (1, None)],
            tags: with_tags(&[]),
            ..Launch::default()
        },
    );
    let kms = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch {
            root_snapshot: root,
            data_volumes: vec![(1, Some("excluded-key"))],
            tags: with_tags(&[]),
            ..Launch::default()
        },
    );
    let tagged_key = runtime.block_on(async {
        let kms = aws_sdk_kms::Client::new(&moto.sdk_config());
        let tag =
            aws_sdk_kms::types::Tag::builder().tag_key("InspectorEc2Exclusion").tag_value("").build().expect("tag");
        let key = kms.create_key().tags(tag).send().await.expect("CreateKey");
        key.key_metadata().expect("key metadata").arn().expect("key arn").to_string()
    });
    let kms_tagged = support::launch(
        &runtime,
        &moto,
        &image_id,
        Launch {
            root_snapshot: root,
            data_volumes: vec![(1, Some(&tagged_key))],
            tags: with_tags(&[]),
            ..Launch::default()
        },
    );
    let outside = support::launch(&runtime, &moto, &image_id, Launch { root_snapshot: root, ..Launch::default() });

    let output = support::snapscan(
        &moto,
        &[
            "scan",
            "instances",
            "--filter",
            "tag:Fleet=test",
            "--max-volumes",
            "2",
            "--exclude-kms-key",
            "excluded-key",
            "--poll-interval",
            "0.2",
            "--format",
            "json",
        ],
    );
    assert_succeeded(&output);
    let report = support::json(&output);
    let reason = |instance: &str| coverage_of(&report, instance)["reason"].clone();
    assert_eq!(reason(&scanned), Value::Null);
    assert_eq!(coverage_of(&report, &scanned)["scanned"], true);
    assert_eq!(reason(&excluded), "EXCLUDED_BY_TAG");
    assert_eq!(reason(&excluded_ours), "EXCLUDED_BY_TAG");
    assert_eq!(reason(&windows), "UNSUPPORTED_PLATFORM");
    assert_eq!(reason(&instance_store), "NOT_EBS_BACKED");
    assert_eq!(reason(&stopped), "STATE_NOT_SCANNABLE");
    assert_eq!(reason(&crowded), "TOO_MANY_VOLUMES");
    // The KMS-excluded data volume is skipped; the root volume is still scanned.
    let kms_coverage = coverage_of(&report, &kms);
    assert_eq!(kms_coverage["scanned"], true, "{kms_coverage}");
    let kms_volume = kms_coverage["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|volume| volume["device"] == "/dev/xvdf")
        .expect("data volume");
    assert_eq!(kms_volume["reason"], "KMS_KEY_EXCLUDED");
    assert_eq!(kms_volume["scanned"], false);
    assert!(
        report["coverage"].as_array().unwrap().iter().all(|entry| entry["target"] != outside.as_str()),
        "the filter selects"
    );
    // A KMS key tagged with an exclusion key excludes its volumes the same way.
    let tagged_coverage = coverage_of(&report, &kms_tagged);
    let tagged_volume = tagged_coverage["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|volume| volume["device"] == "/dev/xvdf")
        .expect("data volume");
    assert_eq!(tagged_volume["reason"], "KMS_KEY_EXCLUDED", "{tagged_coverage}");
    assert_eq!(report["coverage"].as_array().unwrap().len(), 9);
    assert_eq!(support::package_versions(&report), image_packages());
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty(), "tagged snapshots left behind");
}

#[test]
fn instance_scan_under_faults_gives_the_same_inventory() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let snapshot_id = support::seed_snapshot(&runtime, &moto.sdk_config(), &support::repository_root().join(DEMO));
    let image_id = support::register_image(&runtime, &moto, &snapshot_id);
    let instance_id =
        support::launch(&runtime, &moto, &image_id, Launch { root_snapshot: Some(&snapshot_id), ..Launch::default() });
    moto.set_faults(
        r#"{"latency_ms": {"GetSnapshotBlock": 20},
            "pattern": {"GetSnapshotBlock": ["throttle", null, "503", "truncate", null, "corrupt", null],
                        "ListSnapshotBlocks": ["503", null],
                        "CreateSnapshots": ["limit", null],
                        "DescribeSnapshots": ["limit", null, null],
                        "DeleteSnapshot": ["limit", null]}}"#,
    );
    let output =
        support::snapscan(&moto, &["scan", "instance", &instance_id, "--format", "json", "--poll-interval", "0.2"]);
    assert_succeeded(&output);
    let report = support::json(&output);
    assert_eq!(support::package_versions(&report), image_packages());
    assert!(report["stats"]["ebs"]["retries"].as_u64() >= Some(3), "{}", report["stats"]);
    assert!(report["stats"]["ebs"]["checksum_failures"].as_u64() >= Some(1), "{}", report["stats"]);
    let faults = moto.fault_report();
    assert!(faults["injected"]["CreateSnapshots:limit"].as_u64() >= Some(1), "{faults}");
    assert!(faults["injected"]["DeleteSnapshot:limit"].as_u64() >= Some(1), "{faults}");
    moto.set_faults("{}");
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty(), "tagged snapshots left behind");
}

#[test]
fn unknown_targets_are_reported_not_crashed() {
    let Some(moto) = Moto::start() else { return };
    let output = support::snapscan(&moto, &["scan", "instance", "i-0123456789abcdef0", "--format", "json"]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report = support::json(&output);
    assert_eq!(coverage_of(&report, "i-0123456789abcdef0")["reason"], "NOT_FOUND");
    let output = support::snapscan(&moto, &["scan", "snapshot", "snap-0123456789abcdef0", "--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    let report = support::json(&output);
    assert!(
        report["targets"][0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("snap-0123456789abcdef0") && error.contains("not found")),
        "{report}"
    );
}

#[test]
fn snapshots_and_amis_of_several_regions_in_one_run() {
    let Some(moto) = Moto::start() else { return };
    let runtime = support::runtime();
    let demo = support::repository_root().join(DEMO);
    let east = support::seed_snapshot(&runtime, &moto.sdk_config(), &demo);
    let west_config = moto.sdk_config().into_builder().region(aws_config::Region::new("us-west-2")).build();
    let west = support::seed_snapshot(&runtime, &west_config, &demo);
    let expected = image_packages();

    // Region-qualified ids (the run's region is us-east-1), in both spellings.
    let qualified = format!("us-west-2:{west}");
    let arn = format!("arn:aws:ec2:us-west-2::snapshot/{west}");
    for west_target in [qualified.as_str(), arn.as_str()] {
        let output = support::snapscan(&moto, &["scan", "snapshot", west_target, &east, "--format", "json"]);
        assert_succeeded(&output);
        let report = support::json(&output);
        assert_eq!(coverage_of(&report, &west)["region"], "us-west-2");
        assert_eq!(coverage_of(&report, &east)["region"], "us-east-1");
        assert_eq!(coverage_of(&report, &west)["scanned"], true);
        assert_eq!(support::package_versions(&report), expected);
        let volumes: Vec<&Value> = report["packages"][0]["locations"].as_array().unwrap().iter().collect();
        assert_eq!(volumes.len(), 2, "one location per snapshot: {volumes:?}");
    }

    // Bare ids with several --region: each is found where it is; an unknown one nowhere.
    let missing = "snap-0123456789abcdef0";
    let output = support::snapscan(
        &moto,
        &[
            "scan",
            "snapshot",
            &west,
            &east,
            missing,
            "--region",
            "us-east-1",
            "--region",
            "us-west-2",
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(3), "partial: stderr {}", String::from_utf8_lossy(&output.stderr));
    let report = support::json(&output);
    assert_eq!(coverage_of(&report, &west)["region"], "us-west-2");
    assert_eq!(coverage_of(&report, &east)["region"], "us-east-1");
    assert_eq!(coverage_of(&report, missing)["reason"], "NOT_FOUND");
    assert!(
        coverage_of(&report, missing)["message"].as_str().is_some_and(|message| message.contains("us-west-2")),
        "{report}"
    );

    // An AMI registered in us-west-2, named by ARN and found by search.
    let image_id = support::register_image_with(&runtime, &west_config, &west);
    for target in [format!("arn:aws:ec2:us-west-2::image/{image_id}"), image_id.clone()] {
        let output = support::snapscan(
            &moto,
            &["scan", "ami", &target, "--region", "us-east-1", "--region", "us-west-2", "--format", "json"],
        );
        assert_succeeded(&output);
        let report = support::json(&output);
        assert_eq!(coverage_of(&report, &image_id)["region"], "us-west-2");
        assert_eq!(support::package_versions(&report), expected);
    }
    assert!(support::tagged_snapshots(&runtime, &moto).is_empty());
}
