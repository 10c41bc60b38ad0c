//! Suppression files through the binary, on the committed demo image and demo bundle:
//! which findings a rule hides (by id, alias, record id, package/purl glob, path glob),
//! how each report format shows them, that they never trip `--fail-on`, that expired
//! rules stop applying and are reported, the default `.snapscan-ignore.yaml`, and bad
//! files. The demo's findings are listed in tests/advisory_cli.rs.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use test_fixtures::repository_root;

const DEMO: &str = "fixtures/demo/debian12.img";
const BUNDLE: &str = "fixtures/demo/advisories.db";

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("snapscan-suppress-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Run the binary in `directory` on the demo (absolute paths, so the directory's own
/// `.snapscan-ignore.yaml`, if any, is the only thing that differs).
fn scan_in(directory: &Path, extra: &[&str]) -> Output {
    let root = repository_root();
    let demo = root.join(DEMO);
    let bundle = root.join(BUNDLE);
    Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(["scan", "image"])
        .arg(&demo)
        .arg("--db")
        .arg(&bundle)
        .args(extra)
        .current_dir(directory)
        .env("XDG_CACHE_HOME", directory.join("cache"))
        .output()
        .expect("run snapscan")
}

fn report(output: &Output) -> serde_json::Value {
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

/// (package, id, rule index) of every suppressed finding, sorted.
fn suppressed(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut found: Vec<(String, String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| !finding["suppressed"].is_null())
        .map(|finding| {
            (
                finding["package"].as_str().unwrap().to_string(),
                finding["id"].as_str().unwrap().to_string(),
                finding["suppressed"]["rule"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

const RULES: &str = "\
# Accepted risks for the demo image.
rules:
  - id: CVE-2024-45492
    reason: expat is only used by tools we never run
  - id: CVE-2024-5535
    package: 'libssl*'
    reason: the library copy is not loaded by anything network-facing
  - package: 'pkg:deb/debian/zlib1g@*'
    reason: zlib's minizip is not built
    expires: 2999-12-31
  - id: GHSA-mjmj-j48q-9wg2
    path: '/opt/app/*.jar!*'
    reason: the app never parses untrusted YAML
  - id: DSA-5724-1
    reason: sshd is disabled on this image
    expires: 2001-01-31
";

fn expected_suppressed() -> Vec<(String, String, u64)> {
    let mut expected: Vec<(String, String, u64)> = [
        ("libexpat1", "CVE-2024-45492", 0),
        ("libssl3", "CVE-2024-5535", 1),
        ("zlib1g", "CVE-2023-45853", 2),
        // By the GHSA record id (the finding's id is the CVE) and a path glob into the jar.
        ("org.yaml:snakeyaml", "CVE-2022-1471", 3),
    ]
    .into_iter()
    .map(|(package, id, rule)| (package.to_string(), id.to_string(), rule))
    .collect();
    expected.sort();
    expected
}

#[test]
fn rules_hide_findings_which_stay_in_json_and_never_gate() {
    let directory = scratch("rules");
    let rules = directory.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let rules_argument = rules.to_str().unwrap();
    let output = scan_in(&directory, &["-f", "json", "--ignore-file", rules_argument, "--fail-on", "critical"]);
    let json = report(&output);
    assert_eq!(suppressed(&json), expected_suppressed());
    assert_eq!(json["findings"].as_array().unwrap().len(), 22, "suppressed findings stay in findings[]");
    let expat = json["findings"].as_array().unwrap().iter().find(|finding| finding["package"] == "libexpat1").unwrap();
    assert_eq!(
        expat["suppressed"],
        serde_json::json!({"rule": 0, "reason": "expat is only used by tools we never run", "expires": null})
    );
    let zlib = json["findings"].as_array().unwrap().iter().find(|finding| finding["package"] == "zlib1g").unwrap();
    assert_eq!(zlib["suppressed"]["expires"], "2999-12-31");
    // openssl's CVE-2024-5535 (critical) is not covered by the libssl* rule: still exit 1.
    assert_eq!(output.status.code(), Some(1));
    // The expired DSA rule no longer hides openssh, and says so on stderr and in issues.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rule 5 (id DSA-5724-1)") && stderr.contains("expired on 2001-01-31"), "{stderr}");
    let issues = json["issues"].as_array().unwrap();
    assert!(issues.iter().any(|issue| issue["message"].as_str().unwrap().contains("expired on 2001-01-31")));

    // With openssl accepted too, no unsuppressed critical remains: exit 0 for critical,
    // while high (openssh, git, jackson) still gates.
    let more = format!("{RULES}  - id: CVE-2024-5535\n    package: openssl\n    reason: same as libssl3\n");
    std::fs::write(&rules, more).unwrap();
    let output = scan_in(&directory, &["-f", "json", "--ignore-file", rules_argument, "--fail-on", "critical"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let output = scan_in(&directory, &["-f", "json", "--ignore-file", rules_argument, "--fail-on", "high"]);
    assert_eq!(output.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn each_format_hides_or_marks_suppressed_findings() {
    let directory = scratch("formats");
    std::fs::write(directory.join(".snapscan-ignore.yaml"), RULES).unwrap();
    // Table: suppressed rows are gone and counted in the summary line.
    let output = scan_in(&directory, &["-f", "table"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("18 findings (4 suppressed)"), "{table}");
    assert!(!table.contains("CVE-2024-45492") && !table.contains("CVE-2023-45853"), "{table}");
    assert!(table.contains("CVE-2024-6387"), "{table}");

    // CSV: suppressed findings are not rows.
    let output = scan_in(&directory, &["-f", "csv"]);
    let csv = String::from_utf8(output.stdout).unwrap();
    assert!(!csv.contains("CVE-2024-45492") && csv.contains("\"CVE-2024-0727\""), "{csv}");
    assert_eq!(csv.matches("\"CVE-2024-5535\"").count(), 1, "only openssl's row remains");

    // SARIF: every result is there; suppressed ones carry `suppressions`.
    let output = scan_in(&directory, &["-f", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let with_suppressions: Vec<&serde_json::Value> =
        results.iter().filter(|result| result.get("suppressions").is_some()).collect();
    assert_eq!(with_suppressions.len(), 4);
    assert!(
        with_suppressions.iter().all(|result| result["suppressions"][0]["kind"] == "external"
            && result["suppressions"][0]["status"] == "accepted")
    );
    assert!(results.iter().any(|result| result["ruleId"] == "CVE-2024-45492"
        && result["suppressions"][0]["justification"] == "expat is only used by tools we never run"));

    // CycloneDX: suppressed vulnerabilities are left out; CVE-2024-5535 keeps openssl only.
    let output = scan_in(&directory, &["-f", "cyclonedx"]);
    let bom: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let vulnerabilities = bom["vulnerabilities"].as_array().unwrap();
    let ids: Vec<&str> = vulnerabilities.iter().map(|entry| entry["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&"CVE-2024-45492") && !ids.contains(&"CVE-2023-45853") && ids.contains(&"CVE-2024-6387"));
    let openssl = vulnerabilities.iter().find(|entry| entry["id"] == "CVE-2024-5535").unwrap();
    assert_eq!(openssl["affects"].as_array().unwrap().len(), 1);

    // ASFF: Security Hub's SUPPRESSED workflow state.
    let output = Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(["scan", "image"])
        .arg(repository_root().join(DEMO))
        .arg("--db")
        .arg(repository_root().join(BUNDLE))
        .args(["-f", "asff"])
        .current_dir(&directory)
        .env("SNAPSCAN_AWS_ACCOUNT_ID", "123456789012")
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let asff: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = asff.as_array().unwrap();
    assert_eq!(records.len(), 22);
    let marked: Vec<&serde_json::Value> =
        records.iter().filter(|record| record["Workflow"]["Status"] == "SUPPRESSED").collect();
    assert_eq!(marked.len(), 4);
    assert!(marked.iter().all(|record| record["ProductFields"]["snapscan/suppressed"].is_string()));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn default_file_is_used_only_when_present_and_explicit_file_wins() {
    let directory = scratch("default");
    let json = report(&scan_in(&directory, &["-f", "json"]));
    assert!(suppressed(&json).is_empty());
    std::fs::write(directory.join(".snapscan-ignore.yaml"), RULES).unwrap();
    let json = report(&scan_in(&directory, &["-f", "json"]));
    assert_eq!(suppressed(&json), expected_suppressed());
    let other = directory.join("other.yaml");
    std::fs::write(&other, "rules:\n  - package: curl\n    reason: r\n").unwrap();
    let json = report(&scan_in(&directory, &["-f", "json", "--ignore-file", other.to_str().unwrap()]));
    assert_eq!(suppressed(&json), [("curl".to_string(), "CVE-2024-2398".to_string(), 0)]);
    // An inventory has no findings, so even a broken default file is not read.
    std::fs::write(directory.join(".snapscan-ignore.yaml"), "rules: [").unwrap();
    let output = scan_in(&directory, &["-f", "json", "--packages-only"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn bad_files_exit_2_with_the_place_and_reason() {
    let directory = scratch("bad");
    for (name, text, expected) in [
        ("syntax.yaml", "rules:\n  - id: CVE-1\n    reason: [unclosed\n", "line 3"),
        ("no-reason.yaml", "rules:\n  - id: CVE-1\n", "rule 1: `reason` is required"),
        ("typo.yaml", "rules:\n  - id: CVE-1\n    reason: r\n    expire: 2027-01-01\n", "expire"),
        ("date.yaml", "rules:\n  - id: CVE-1\n    reason: r\n    expires: 01/02/2027\n", "not a date YYYY-MM-DD"),
    ] {
        let path = directory.join(name);
        std::fs::write(&path, text).unwrap();
        let output = scan_in(&directory, &["-f", "json", "--ignore-file", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains(expected), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}: no report on a bad suppression file");
    }
    let output = scan_in(&directory, &["-f", "json", "--ignore-file", "missing.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.yaml"));
    let _ = std::fs::remove_dir_all(&directory);
}
