//! Language packages an OS package installed, through the binary: by default they fold
//! into the OS package (`found_by: dpkg+python`, `rpm+python`); `--all-packages` reports
//! them too. The images are `scripts/make-fixtures-ownership.sh`'s:
//! - Debian: dpkg's python3-requests owns `requests-2.28.1.dist-info`; pip's `six` under
//!   /usr/local is owned by nothing;
//! - Amazon Linux 2023: RPMs installed by rpm own `requests-2.25.1.dist-info` and the
//!   `six-1.15.0-py3.9.egg-info` file; pip's `urllib3` under /usr/local is owned by nothing.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use serde_json::Value;
use std::process::Command;

const DEBIAN: &str = "fixtures/images/ownership.img.zst";
const AMAZON_LINUX: &str = "fixtures/images/ownership-rpm.img.zst";

/// `(name, found_by, evidence)` of every package the JSON report of `image` lists, sorted.
fn packages(image: &str, extra: &[&str]) -> Vec<(String, String, String)> {
    let image = test_fixtures::unpacked(image);
    let output = Command::new(env!("CARGO_BIN_EXE_snapscan"))
        .args(["scan", "image"])
        .arg(&image)
        .args(["--format", "json", "--packages-only"])
        .args(extra)
        .output()
        .expect("run snapscan");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let mut rows: Vec<(String, String, String)> = report["packages"]
        .as_array()
        .expect("packages[]")
        .iter()
        .map(|package| {
            let field = |name: &str| package[name].as_str().unwrap_or_default().to_string();
            (field("name"), field("found_by"), field("evidence"))
        })
        .collect();
    rows.sort();
    rows
}

fn row(name: &str, found_by: &str) -> (String, String, String) {
    (name.to_string(), found_by.to_string(), "installed".to_string())
}

#[test]
fn owned_python_package_is_reported_as_its_debian_package() {
    assert_eq!(
        packages(DEBIAN, &[]),
        [row("libc6", "dpkg"), row("python3-requests", "dpkg+python"), row("six", "python")]
    );
}

#[test]
fn all_packages_reports_the_owned_package_too() {
    assert_eq!(
        packages(DEBIAN, &["--all-packages"]),
        [row("libc6", "dpkg"), row("python3-requests", "dpkg"), row("requests", "python"), row("six", "python")]
    );
}

#[test]
fn owned_python_packages_are_reported_as_their_rpm_packages() {
    assert_eq!(
        packages(AMAZON_LINUX, &[]),
        [
            row("bash", "rpm"),
            row("python3-requests", "rpm+python"),
            row("python3-six", "rpm+python"),
            row("urllib3", "python")
        ]
    );
}

#[test]
fn all_packages_reports_the_rpm_owned_packages_too() {
    assert_eq!(
        packages(AMAZON_LINUX, &["--all-packages"]),
        [
            row("bash", "rpm"),
            row("python3-requests", "rpm"),
            row("python3-six", "rpm"),
            row("requests", "python"),
            row("six", "python"),
            row("urllib3", "python")
        ]
    );
}
