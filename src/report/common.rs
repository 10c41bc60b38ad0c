//! Pieces every document format needs the same way: when the report was made, stable
//! identifiers derived from content, and the link from findings to packages.
//!
//! `Scan` carries no wall-clock time, but SBOM and SARIF consumers require one, so the
//! writers ask [`generated_at`]: one instant per process (every format written by one run
//! agrees), overridable with `SOURCE_DATE_EPOCH` for reproducible output. Identifiers
//! (serial numbers, namespaces, SPDXIDs, fingerprints) are hashes of what they name, so
//! the same scan always gives the same document apart from its time.

use crate::catalog::Package;
use crate::model::{Finding, Issue, Scan, Severity};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// A UTC instant with one-second precision, as reports write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
}

impl Timestamp {
    /// Calendar fields (year, month, day, hour, minute, second) in UTC.
    fn fields(self) -> (i64, u32, u32, u32, u32, u32) {
        // Clamped to years 1970..=9999, the range every report format can write.
        let seconds = self.seconds.clamp(0, LATEST_SECONDS);
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = crate::distro::civil_from_days(days);
        let narrow = |value: i64| u32::try_from(value).unwrap_or(0);
        (
            year,
            month,
            day,
            narrow(second_of_day / 3_600),
            narrow(second_of_day % 3_600 / 60),
            narrow(second_of_day % 60),
        )
    }

    /// RFC 3339 / ISO 8601 form: `2026-12-02T05:33:39Z`.
    pub fn rfc3339(self) -> String {
        let (year, month, day, hour, minute, second) = self.fields();
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }

    /// Compact form safe in file names on every OS: `20261202T053339Z`.
    pub fn compact(self) -> String {
        let (year, month, day, hour, minute, second) = self.fields();
        format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
    }
}

/// Largest `SOURCE_DATE_EPOCH` accepted (year 9999), so every format's date stays valid.
const LATEST_SECONDS: i64 = 253_402_300_799;

/// The time reports of this run carry: `SOURCE_DATE_EPOCH` when set to a valid value,
/// otherwise the clock when first asked. The same value for the rest of the process.
pub fn generated_at() -> Timestamp {
    static GENERATED: OnceLock<Timestamp> = OnceLock::new();
    *GENERATED.get_or_init(|| {
        let from_environment = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|text| parse_epoch(&text));
        from_environment.unwrap_or_else(|| {
            let seconds = crate::distro::unix_now();
            Timestamp { seconds: i64::try_from(seconds).unwrap_or(0) }
        })
    })
}

/// A `SOURCE_DATE_EPOCH` value: decimal seconds between 0 and year 9999.
fn parse_epoch(text: &str) -> Option<Timestamp> {
    let seconds = text.trim().parse::<i64>().ok()?;
    (0..=LATEST_SECONDS).contains(&seconds).then_some(Timestamp { seconds })
}

/// Write a JSON document pretty-printed with a final newline, as every JSON format does.
pub fn write_json(document: &serde_json::Value, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *output, document)?;
    output.write_all(b"\n")
}

/// Lower-case hex SHA-256 of the parts, each length-prefixed so `("ab","c")` ≠ `("a","bc")`.
pub fn content_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A name-based UUID (RFC 9562 version 8 layout) from a hash of the parts.
pub fn content_uuid(parts: &[&str]) -> String {
    let hash = content_hash(parts);
    let hex = hash.as_bytes();
    let text = |range: std::ops::Range<usize>| {
        hex.get(range).map(|slice| String::from_utf8_lossy(slice).into_owned()).unwrap_or_default()
    };
    // Version nibble 8 and variant bits 10xx make it a well-formed UUID for validators.
    let variant = match hex.get(16) {
        Some(byte) => ["8", "9", "a", "b"][usize::from(byte % 4)],
        None => "8",
    };
    format!("{}-{}-8{}-{}{}-{}", text(0..8), text(8..12), text(13..16), variant, text(17..20), text(20..32))
}

/// What identifies a scan's content, for serial numbers and namespaces: the targets and
/// the package and finding identities, in order.
pub fn scan_identity(scan: &Scan) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for target in &scan.targets {
        parts.push(&target.kind);
        parts.push(&target.name);
    }
    for package in &scan.packages {
        parts.push(&package.purl);
    }
    for finding in &scan.findings {
        parts.push(&finding.id);
        parts.push(&finding.purl);
    }
    content_hash(&parts)
}

/// Findings grouped by vulnerability id, ids in sorted order, each group in scan order.
pub fn findings_by_vulnerability<'scan>(
    findings: impl IntoIterator<Item = &'scan Finding>,
) -> BTreeMap<&'scan str, Vec<&'scan Finding>> {
    let mut groups: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        groups.entry(finding.id.as_str()).or_default().push(finding);
    }
    groups
}

/// The findings no suppression rule hides: what the table, CSV and CycloneDX list.
pub fn unsuppressed(scan: &Scan) -> impl Iterator<Item = &Finding> {
    scan.findings.iter().filter(|finding| finding.suppressed.is_none())
}

/// Finds the package a finding is about — same purl, else same ecosystem, name and
/// version — without a scan of every package per finding (scans hold thousands of each).
pub struct PackageIndex<'scan> {
    packages: &'scan [Package],
    by_purl: HashMap<&'scan str, usize>,
    by_identity: HashMap<(&'scan str, &'scan str, &'scan str), usize>,
}

impl<'scan> PackageIndex<'scan> {
    /// Index the scan's packages; where two share a key, the first wins.
    pub fn new(scan: &'scan Scan) -> Self {
        let mut by_purl = HashMap::new();
        let mut by_identity = HashMap::new();
        for (index, package) in scan.packages.iter().enumerate() {
            by_purl.entry(package.purl.as_str()).or_insert(index);
            let identity = (package.ecosystem.purl_type(), package.name.as_str(), package.version.as_str());
            by_identity.entry(identity).or_insert(index);
        }
        Self { packages: &scan.packages, by_purl, by_identity }
    }

    /// The package's position in `scan.packages` and the package.
    pub fn package_of(&self, finding: &Finding) -> Option<(usize, &'scan Package)> {
        let index = self.by_purl.get(finding.purl.as_str()).or_else(|| {
            self.by_identity.get(&(
                finding.ecosystem.as_str(),
                finding.package.as_str(),
                finding.installed_version.as_str(),
            ))
        })?;
        self.packages.get(*index).map(|package| (*index, package))
    }
}

/// Who publishes an advisory and where to read it, chosen by the id's prefix (CVE → NVD,
/// GHSA → GitHub, DSA/DLA → Debian, anything else → OSV).
pub fn advisory_source(id: &str) -> (&'static str, String) {
    if id.starts_with("CVE-") {
        ("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if id.starts_with("GHSA-") {
        ("GitHub", format!("https://github.com/advisories/{id}"))
    } else if id.starts_with("DSA-") || id.starts_with("DLA-") || id.starts_with("DEBIAN-") {
        ("Debian", format!("https://security-tracker.debian.org/tracker/{id}"))
    } else {
        ("OSV", format!("https://osv.dev/vulnerability/{}", crate::catalog::purl_encode(id)))
    }
}

/// The CVSS version a vector is written in: `3.1`, `3.0` and `4.0` from their `CVSS:x.y/`
/// prefix, `2.0` for the prefixless v2 form (`AV:N/AC:L/Au:N/...`, the only one with `Au`).
/// `None` for anything else, which reports then call `other` or leave out.
pub fn cvss_version(vector: &str) -> Option<&'static str> {
    let vector = vector.trim();
    match vector.split_once('/') {
        Some(("CVSS:3.1", _)) => Some("3.1"),
        Some(("CVSS:3.0", _)) => Some("3.0"),
        Some(("CVSS:4.0", _)) => Some("4.0"),
        Some(("CVSS:2.0", _)) => Some("2.0"),
        Some((first, _)) if first.starts_with("AV:") && vector.split('/').any(|metric| metric.starts_with("Au:")) => {
            Some("2.0")
        }
        _ => None,
    }
}

/// An issue as one line for people: `warning: disk.img/p2:/var/lib/dpkg/status: message`.
pub fn issue_line(issue: &Issue) -> String {
    let severity = match issue.severity {
        Severity::Warning => "warning",
        Severity::Error => "error",
    };
    match &issue.location {
        Some(location) => format!("{severity}: {location}: {}", issue.message),
        None => format!("{severity}: {}", issue.message),
    }
}

/// Severity bands in order of badness, so the worst of several can be picked.
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        "none" => 1,
        _ => 0,
    }
}

/// The worst finding of a group: highest severity band, then highest score.
pub fn worst<'finding>(findings: &[&'finding Finding]) -> Option<&'finding Finding> {
    findings.iter().copied().max_by(|left, right| {
        severity_rank(&left.severity)
            .cmp(&severity_rank(&right.severity))
            .then(left.cvss_score.unwrap_or(-1.0).total_cmp(&right.cvss_score.unwrap_or(-1.0)))
    })
}

/// What a JSON writer makes of `scan`, parsed back (for the writers' unit tests).
#[cfg(test)]
pub fn written_json(
    writer: fn(&Scan, &mut dyn std::io::Write) -> std::io::Result<()>,
    scan: &Scan,
) -> serde_json::Value {
    let mut bytes = Vec::new();
    writer(scan, &mut bytes).expect("write to memory");
    serde_json::from_slice(&bytes).expect("valid JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_versions_come_from_the_vector_prefix() {
        assert_eq!(cvss_version("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some("3.1"));
        assert_eq!(cvss_version("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), Some("3.0"));
        assert_eq!(cvss_version("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"), Some("4.0"));
        assert_eq!(cvss_version("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Some("2.0"));
        for other in ["", "CVSS:3.1", "CVSS:9.9/AV:N", "AV:N/AC:L", "high"] {
            assert_eq!(cvss_version(other), None, "{other:?}");
        }
    }
    use crate::report::sample;

    #[test]
    fn timestamps_format_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z", "19700101T000000Z"),
            (951_782_400, "2000-02-29T00:00:00Z", "20000229T000000Z"),
            (1_796_189_619, "2026-12-02T05:33:39Z", "20261202T053339Z"),
            (LATEST_SECONDS, "9999-12-31T23:59:59Z", "99991231T235959Z"),
            (i64::MAX, "9999-12-31T23:59:59Z", "99991231T235959Z"),
            (i64::MIN, "1970-01-01T00:00:00Z", "19700101T000000Z"),
        ];
        for (seconds, rfc3339, compact) in cases {
            let timestamp = Timestamp { seconds };
            assert_eq!(timestamp.rfc3339(), rfc3339, "{seconds}");
            assert_eq!(timestamp.compact(), compact, "{seconds}");
        }
    }

    #[test]
    fn source_date_epoch_is_range_checked() {
        assert_eq!(parse_epoch("1796189619"), Some(Timestamp { seconds: 1_796_189_619 }));
        assert_eq!(parse_epoch(" 0\n"), Some(Timestamp { seconds: 0 }));
        for bad in ["", "-1", "abc", "1e9", "253402300800", "99999999999999999999999"] {
            assert_eq!(parse_epoch(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn content_ids_are_stable_and_separate_parts() {
        assert_eq!(content_hash(&["ab", "c"]), content_hash(&["ab", "c"]));
        assert_ne!(content_hash(&["ab", "c"]), content_hash(&["a", "bc"]));
        let uuid = content_uuid(&["x"]);
        let shape: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(shape, [8, 4, 4, 4, 12], "{uuid}");
        assert!(uuid.chars().nth(14) == Some('8'), "{uuid}");
        assert!(matches!(uuid.chars().nth(19), Some('8' | '9' | 'a' | 'b')), "{uuid}");
    }

    #[test]
    fn findings_group_by_id_and_link_to_packages() {
        let scan = sample::scan();
        let groups = findings_by_vulnerability(&scan.findings);
        let ids: Vec<&str> = groups.keys().copied().collect();
        assert_eq!(ids, ["CVE-2024-0001", "CVE-2024-5535", "GHSA-9wx4-h78v-vm56"]);
        assert_eq!(groups["CVE-2024-5535"].len(), 2);
        let index = PackageIndex::new(&scan);
        for finding in &scan.findings {
            let (_, package) = index.package_of(finding).expect("every sample finding has its package");
            assert_eq!(package.name, finding.package);
        }
        // Without a matching purl, ecosystem, name and version still find it.
        let mut renamed = scan.findings[0].clone();
        renamed.purl = "pkg:deb/debian/other".to_string();
        assert_eq!(index.package_of(&renamed).map(|(_, package)| package.name.as_str()), Some("openssl"));
        renamed.installed_version = "0".to_string();
        assert!(index.package_of(&renamed).is_none());
        let worst = worst(&groups["CVE-2024-5535"]).expect("non-empty");
        assert_eq!(worst.severity, "critical");
    }
}
