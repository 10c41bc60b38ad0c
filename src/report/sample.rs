//! A small but complete `Scan` for report tests: one image with an EFI and a Debian
//! partition, OS and language packages, findings (one vulnerability in two packages, one
//! without score or fix), issues with and without a location, and hostile text (a
//! spreadsheet formula, quotes, commas, a newline) where an attacker controls it.
//!
//! Unit tests use it as `crate::report::sample`; integration tests include this file with
//! `#[path = "../src/report/sample.rs"]` after aliasing `crate::model` and `crate::catalog`.

use crate::catalog::{Ecosystem, Evidence, Location, Package};
use crate::model::{
    DistroInfo, FilesystemInfo, Finding, Issue, Partition, Scan, Severity, Stats, Target, Tool, Volume,
};

/// Volume name used in every sample location.
pub const VOLUME: &str = "disk.img";

fn location(path: &str) -> Location {
    Location { volume: VOLUME.to_string(), partition: Some(2), path: path.to_string() }
}

fn deb(name: &str, version: &str, source: &str, source_version: Option<&str>) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem: Ecosystem::Deb,
        purl: format!("pkg:deb/debian/{name}@{}?arch=amd64&distro=debian-12", crate::catalog::purl_encode(version)),
        arch: Some("amd64".to_string()),
        source_name: Some(source.to_string()),
        source_version: source_version.map(str::to_string),
        epoch: None,
        release: None,
        status: None,
        distro: Some("debian-12".to_string()),
        locations: vec![location("/var/lib/dpkg/status")],
        found_by: "dpkg".to_string(),
        evidence: Evidence::Installed,
    }
}

fn finding(
    package: &Package,
    id: &str,
    severity: &str,
    score: Option<f64>,
    fixed: Option<&str>,
    summary: Option<&str>,
) -> Finding {
    Finding {
        id: id.to_string(),
        aliases: Vec::new(),
        advisories: vec![format!("DEBIAN-{id}")],
        package: package.name.clone(),
        installed_version: package.version.clone(),
        matched_name: package.source_name.clone().unwrap_or_else(|| package.name.clone()),
        matched_version: package.source_version.clone().unwrap_or_else(|| package.version.clone()),
        advisory_ecosystem: "Debian:12".to_string(),
        ecosystem: package.ecosystem.purl_type().to_string(),
        purl: package.purl.clone(),
        fixed_version: fixed.map(str::to_string),
        severity: severity.to_string(),
        cvss_score: score,
        cvss_vector: None,
        severity_source: score.map(|_| "cvss_v3".to_string()),
        summary: summary.map(str::to_string),
        references: Vec::new(),
        locations: package.locations.clone(),
        suppressed: None,
    }
}

/// The sample scan.
pub fn scan() -> Scan {
    let openssl = deb("openssl", "3.0.11-1~deb12u2", "openssl", None);
    let libssl = deb("libssl3", "3.0.11-1~deb12u2", "openssl", None);
    let bash = deb("bash", "5.2.15-2+b2", "bash", Some("5.2.15-2"));
    let mut hostile = deb("=HYPERLINK(\"http://attacker.example.org\",\"x\")", "1,2\"3", "evil", None);
    hostile.purl = "pkg:deb/debian/%3DHYPERLINK@1%2C2%223?arch=amd64&distro=debian-12".to_string();
    hostile.status = Some("half-installed".to_string());
    hostile.arch = Some("@SUM(1+1)".to_string());
    let requests = Package {
        name: "requests".to_string(),
        version: "2.31.0".to_string(),
        ecosystem: Ecosystem::Pypi,
        purl: "pkg:pypi/requests@2.31.0".to_string(),
        arch: None,
        source_name: None,
        source_version: None,
        epoch: None,
        release: None,
        status: None,
        distro: None,
        locations: vec![
            location("/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"),
            location("/opt/app/requirements.txt"),
        ],
        found_by: "python".to_string(),
        evidence: Evidence::Declared,
    };
    let mut requests_finding = finding(
        &requests,
        "GHSA-9wx4-h78v-vm56",
        "medium",
        Some(5.6),
        Some("2.32.0"),
        Some("Requests `Session` object does not verify requests after making first request with verify=False"),
    );
    requests_finding.aliases = vec!["CVE-2024-35195".to_string()];
    let findings = vec![
        finding(
            &openssl,
            "CVE-2024-5535",
            "critical",
            Some(9.1),
            Some("3.0.15-1~deb12u1"),
            Some("SSL_select_next_proto buffer overread"),
        ),
        finding(
            &libssl,
            "CVE-2024-5535",
            "critical",
            Some(9.1),
            Some("3.0.15-1~deb12u1"),
            Some("SSL_select_next_proto buffer overread"),
        ),
        finding(&hostile, "CVE-2024-0001", "unknown", None, None, Some("-2+3,\"quoted\"\nsecond line\u{1b}[2J\u{0}")),
        requests_finding,
    ];
    Scan {
        schema_version: crate::model::SCHEMA_VERSION,
        tool: Tool { name: "snapscan".to_string(), version: "0.1.0".to_string() },
        advisory_database: None,
        targets: vec![Target {
            name: VOLUME.to_string(),
            kind: "image".to_string(),
            volumes: vec![Volume {
                id: VOLUME.to_string(),
                size: 64 * 1024 * 1024,
                partition_table: "gpt".to_string(),
                partitions: vec![
                    Partition {
                        number: Some(1),
                        offset: 1024 * 1024,
                        length: 8 * 1024 * 1024,
                        partition_type: "EFI System".to_string(),
                        name: Some("EFI".to_string()),
                        filesystem: None,
                        distro: None,
                    },
                    Partition {
                        number: Some(2),
                        offset: 9 * 1024 * 1024,
                        length: 54 * 1024 * 1024,
                        partition_type: "Linux filesystem".to_string(),
                        name: Some("root".to_string()),
                        filesystem: Some(FilesystemInfo {
                            kind: "ext4".to_string(),
                            uuid: Some("0f3b9e58-0c1d-4b5e-9a3f-6d2c1e7a8b90".to_string()),
                            label: Some("root".to_string()),
                            skipped_directories: vec!["/usr/share/doc".to_string(), "/usr/share/man".to_string()],
                            native_package_executables: 120,
                        }),
                        distro: Some(DistroInfo {
                            id: "debian".to_string(),
                            version_id: Some("12".to_string()),
                            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_string()),
                            // Fixed rather than judged today, so the snapshots do not age.
                            end_of_life: Some("2028-06-30"),
                            end_of_life_reached: Some(false),
                        }),
                    },
                ],
            }],
            error: None,
        }],
        packages: vec![bash, hostile, libssl, openssl, requests],
        findings,
        issues: vec![
            Issue {
                severity: Severity::Warning,
                location: Some(location("/var/lib/dpkg/status")),
                message: "stanza 7: no Version field".to_string(),
            },
            Issue {
                severity: Severity::Error,
                location: None,
                message: "partition 1: unsupported filesystem".to_string(),
            },
        ],
        coverage: Vec::new(),
        stats: Stats { elapsed_ms: 12, bytes_read: 4096, read_calls: 3, files_visited: 10, files_read: 2, ebs: None },
    }
}
