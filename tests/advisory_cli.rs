//! The advisory commands through the binary: `db build`, `db info`, and `scan image`
//! with `--db`, `--fail-on` and `--ignore-unfixed` on the committed demo image and demo
//! bundle. Expected findings were worked out by hand from `fixtures/advisories/` and the
//! demo image's dpkg status (source packages and versions).

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use std::process::{Command, Output};
use test_fixtures::repository_root;

fn snapscan(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(arguments)
        .current_dir(repository_root())
        .env("XDG_CACHE_HOME", std::env::temp_dir().join(format!("snapscan-cli-cache-{}", std::process::id())))
        .output()
        .expect("run snapscan")
}

const DEMO: &str = "fixtures/demo/debian12.img";
const BUNDLE: &str = "fixtures/demo/advisories.db";

fn findings(output: &Output) -> Vec<(String, String, String, Option<String>)> {
    test_fixtures::report_findings(&output.stdout)
}

#[test]
fn demo_scan_finds_the_hand_computed_vulnerabilities() {
    let output = snapscan(&["scan", "image", DEMO, "--db", BUNDLE, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<(&str, &str, &str, Option<&str>)> = vec![
        ("curl", "CVE-2024-2398", "unknown", Some("7.88.1-10+deb12u6")),
        ("git", "CVE-2024-32002", "high", Some("1:2.39.5-0+deb12u1")),
        ("git-man", "CVE-2024-32002", "high", Some("1:2.39.5-0+deb12u1")),
        ("libc-bin", "CVE-2024-2961", "unknown", Some("2.36-9+deb12u6")),
        ("libc6", "CVE-2024-2961", "unknown", Some("2.36-9+deb12u6")),
        ("libcurl4", "CVE-2024-2398", "unknown", Some("7.88.1-10+deb12u6")),
        ("libexpat1", "CVE-2024-45492", "critical", Some("2.5.0-1+deb12u1")),
        ("libssl3", "CVE-2024-0727", "medium", Some("3.0.13-1~deb12u1")),
        ("libssl3", "CVE-2024-5535", "critical", Some("3.0.14-1~deb12u1")),
        // binNMU: login 1:4.13+dfsg1-1+b1 is matched by its source version 1:4.13+dfsg1-1.
        ("login", "CVE-2023-4641", "medium", Some("1:4.13+dfsg1-1+deb12u1")),
        // DEBIAN-CVE-2024-6387 and DSA-5724-1 merge into one finding per package.
        ("openssh-client", "CVE-2024-6387", "high", Some("1:9.2p1-2+deb12u3")),
        ("openssh-server", "CVE-2024-6387", "high", Some("1:9.2p1-2+deb12u3")),
        ("openssl", "CVE-2024-0727", "medium", Some("3.0.13-1~deb12u1")),
        ("openssl", "CVE-2024-5535", "critical", Some("3.0.14-1~deb12u1")),
        ("passwd", "CVE-2023-4641", "medium", Some("1:4.13+dfsg1-1+deb12u1")),
        ("zlib1g", "CVE-2023-45853", "critical", None),
        // Language packages: jars nested in the fat jar, Python lockfiles and pins, Go.
        ("org.yaml:snakeyaml", "CVE-2022-1471", "critical", Some("2.0")),
        ("com.fasterxml.jackson.core:jackson-databind", "CVE-2022-42003", "high", Some("2.13.4.2")),
        ("Jinja2", "CVE-2024-34064", "medium", Some("3.1.4")),
        ("requests", "CVE-2024-35195", "medium", Some("2.32.0")),
        // urllib3 2.0.7 is inside the 2.0.0 <= v < 2.2.2 range.
        ("urllib3", "CVE-2024-37891", "medium", Some("2.2.2")),
        // Go stdlib from the binary's build info; the Go record has no CVSS vector.
        ("stdlib", "CVE-2023-29403", "unknown", Some("1.19.10")),
    ];
    let mut expected: Vec<(String, String, String, Option<String>)> = expected
        .into_iter()
        .map(|(package, id, severity, fixed)| {
            (package.to_string(), id.to_string(), severity.to_string(), fixed.map(str::to_string))
        })
        .collect();
    expected.sort();
    assert_eq!(findings(&output), expected);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let openssh =
        report["findings"].as_array().unwrap().iter().find(|finding| finding["package"] == "openssh-server").unwrap();
    assert_eq!(openssh["advisories"], serde_json::json!(["DEBIAN-CVE-2024-6387", "DSA-5724-1"]));
    assert_eq!(openssh["cvss_score"], serde_json::json!(8.1));
    assert_eq!(report["advisory_database"]["advisories"], serde_json::json!(18));
}

#[test]
fn fail_on_and_ignore_unfixed_gate_the_exit_code() {
    let critical = snapscan(&["scan", "image", DEMO, "--db", BUNDLE, "--fail-on", "critical", "--format", "json"]);
    assert_eq!(critical.status.code(), Some(1));
    let unfixed = snapscan(&["scan", "image", DEMO, "--db", BUNDLE, "--ignore-unfixed", "--format", "json"]);
    assert_eq!(unfixed.status.code(), Some(0));
    let remaining = findings(&unfixed);
    assert_eq!(remaining.len(), 21);
    assert!(remaining.iter().all(|(_, _, _, fixed)| fixed.is_some()));
    let table = snapscan(&["scan", "image", DEMO, "--db", BUNDLE]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Advisory bundle built"), "{text}");
    assert!(text.contains("CRITICAL  CVE-2024-45492"), "{text}");
}

#[test]
fn bundle_problems_are_clear() {
    let missing = snapscan(&["scan", "image", DEMO, "--db", "does/not/exist.db"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("db build"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // No --db and no bundle in the cache: the scan runs and says findings were not checked.
    let default = snapscan(&["scan", "image", DEMO, "--format", "json"]);
    assert_eq!(default.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    assert!(report["issues"].to_string().contains("no advisory bundle"), "{}", report["issues"]);
    assert!(report["advisory_database"].is_null());
    // The committed demo bundle is always more than a second old, never 100,000 days.
    let stale = snapscan(&["scan", "image", DEMO, "--db", BUNDLE, "--max-db-age", "1s"]);
    assert_eq!(stale.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("older than --max-db-age"));
    let fresh = snapscan(&["scan", "image", DEMO, "--db", BUNDLE, "--max-db-age", "100000d", "--format", "json"]);
    assert_eq!(fresh.status.code(), Some(0));
    for bad in ["7x", "d", "99999999999999999999d"] {
        let output = snapscan(&["scan", "image", DEMO, "--db", BUNDLE, "--max-db-age", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("--max-db-age"), "{bad}");
    }
    let bad_severity = snapscan(&["scan", "image", DEMO, "--fail-on", "severe"]);
    assert_eq!(bad_severity.status.code(), Some(2));
}

#[test]
fn db_build_and_info_round_trip() {
    let directory = std::env::temp_dir().join(format!("snapscan-db-cli-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let bundle = directory.join("nested/bundle.db");
    let bundle_text = bundle.to_string_lossy().into_owned();
    let build = snapscan(&["db", "build", "--from", "fixtures/advisories", "--output", &bundle_text]);
    assert_eq!(build.status.code(), Some(0), "{}", String::from_utf8_lossy(&build.stderr));
    assert!(String::from_utf8_lossy(&build.stdout).contains("18 advisories"));
    let info = snapscan(&["db", "info", "--db", &bundle_text]);
    assert_eq!(info.status.code(), Some(0));
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("advisories:  18") && text.contains("built at:"), "{text}");
    let garbage = directory.join("garbage.zip");
    std::fs::write(&garbage, b"PK\x03\x04 truncated").unwrap();
    let failed = snapscan(&["db", "build", "--from", &garbage.to_string_lossy(), "--output", &bundle_text]);
    assert_eq!(failed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("garbage.zip"));
    // A failed build keeps the old bundle.
    assert_eq!(snapscan(&["db", "info", "--db", &bundle_text]).status.code(), Some(0));
    let missing = snapscan(&["db", "info", "--db", "no/such.db"]);
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&directory);
}
