//! Matching: installed packages against the advisory bundle, giving [`Finding`]s.
//!
//! Each package is looked up by what advisories key on — Debian/Ubuntu by *source*
//! package name and source version (so a binNMU `+b1` binary matches its source's
//! advisories), Alpine by origin, RPM by binary name, language packages by their
//! normalised name, Go's toolchain as `stdlib` — in the ecosystem its distro release
//! selects (`Debian:12` records never match Debian 11). Records naming the same
//! vulnerability (a DSA and its DEBIAN-CVE, a GHSA and its PYSEC) merge into one finding
//! that lists every record id. A version that cannot be compared is an issue on the
//! package, never a silent "not affected".

use crate::advisory::ecosystem;
use crate::advisory::{Advisory, Database, Severity, SeverityBand, Verdict};
use crate::catalog::{Ecosystem, Package};
use crate::distro::Distro;
use crate::model::{Finding, Issue, Severity as IssueSeverity};
use crate::version;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// What matching produced.
#[derive(Debug, Default)]
pub struct Matched {
    /// One finding per (package, vulnerability), most severe first.
    pub findings: Vec<Finding>,
    /// Packages that could not be (fully) checked.
    pub issues: Vec<Issue>,
}

/// The key a package is looked up under.
#[derive(Debug, PartialEq, Eq)]
pub struct LookupKey {
    /// Advisory ecosystem (`Debian:12`, `PyPI`).
    pub ecosystem: String,
    /// Normalised name advisories use.
    pub name: String,
    /// Version to compare.
    pub version: String,
}

/// The lookup key of a package, or why it has none.
pub fn lookup_key(package: &Package) -> Result<LookupKey, String> {
    if let Some(language) = ecosystem::language_ecosystem(package.ecosystem) {
        let (name, version) = if package.ecosystem == Ecosystem::Golang && package.name == "stdlib" {
            let normalized = version::go::normalize_toolchain(&package.version)
                .ok_or_else(|| format!("Go toolchain version {:?} is not of the form go1.N[.N]", package.version))?;
            ("stdlib".to_string(), normalized)
        } else {
            (ecosystem::normalize_name(language, &package.name), package.version.clone())
        };
        return Ok(LookupKey { ecosystem: language.to_string(), name, version });
    }
    let qualifier = package.distro.as_deref().ok_or("no distro was detected, so no advisory ecosystem applies")?;
    let (id, version_id) = match qualifier.rsplit_once('-') {
        Some((id, version_id)) => (id, Some(version_id.to_string())),
        None => (qualifier, None),
    };
    let distro = Distro { id: id.to_string(), version_id, ..Distro::default() };
    let ecosystem =
        distro.advisory_ecosystem().ok_or_else(|| format!("no advisory ecosystem is known for distro {qualifier}"))?;
    let (name, version) = match package.ecosystem {
        // Debian and Alpine advisories name the source package (Alpine: origin).
        Ecosystem::Deb | Ecosystem::Apk => (
            package.source_name.clone().unwrap_or_else(|| package.name.clone()),
            package.source_version.clone().unwrap_or_else(|| package.version.clone()),
        ),
        _ => (package.name.clone(), package.version.clone()),
    };
    Ok(LookupKey { name: ecosystem::normalize_name(&ecosystem, &name), ecosystem, version })
}

/// One advisory record that matched a package.
struct Hit {
    advisory: Arc<Advisory>,
    fixed: Option<String>,
    /// The ecosystem of the affected entry that matched (`Red Hat:enterprise_linux:9::appstream`).
    ecosystem: String,
}

/// Choices that change which records apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Ubuntu systems also match `Ubuntu:Pro:<release>` records (`--ubuntu-pro`).
    pub ubuntu_pro: bool,
}

/// Match every package against the bundle with default options.
pub fn match_packages(packages: &[Package], database: &Database) -> Matched {
    match_packages_with(packages, database, MatchOptions::default())
}

/// Match every package against the bundle.
pub fn match_packages_with(packages: &[Package], database: &Database, options: MatchOptions) -> Matched {
    let mut matched = Matched::default();
    let mut unkeyed: BTreeMap<String, usize> = BTreeMap::new();
    // Per primary ecosystem, the bundle ecosystems that apply (RHEL streams, Ubuntu Pro).
    let mut applicable: HashMap<String, Vec<String>> = HashMap::new();
    for package in packages {
        let key = match lookup_key(package) {
            Ok(key) => key,
            Err(reason) => {
                *unkeyed.entry(reason).or_default() += 1;
                continue;
            }
        };
        let ecosystems = applicable.entry(key.ecosystem.clone()).or_insert_with(|| {
            let mut found: Vec<String> = database
                .ecosystems()
                .filter(|candidate| ecosystem::applies(&key.ecosystem, candidate, options.ubuntu_pro))
                .map(str::to_string)
                .collect();
            found.sort();
            found
        });
        let mut advisories: Vec<Arc<Advisory>> = Vec::new();
        let mut lookup_failed = None;
        for ecosystem in ecosystems.iter() {
            match database.advisories_for(ecosystem, &key.name) {
                Ok(found) => {
                    for advisory in found {
                        // One record can name the package in several applicable ecosystems.
                        if !advisories.iter().any(|seen| Arc::ptr_eq(seen, &advisory)) {
                            advisories.push(advisory);
                        }
                    }
                }
                Err(error) => lookup_failed = Some(error),
            }
        }
        if let Some(error) = lookup_failed {
            matched
                .issues
                .push(package_issue(package, format!("advisories for {} could not be read: {error}", key.name)));
            continue;
        }
        let mut hits = Vec::new();
        let mut unreadable = Vec::new();
        for advisory in advisories {
            let mut fixed_versions: Vec<Option<String>> = Vec::new();
            let mut scheme = None;
            let mut matched_ecosystem = None;
            let relevant: Vec<&crate::advisory::Affected> = advisory
                .affected
                .iter()
                .filter(|affected| affected.normalized_name == key.name && ecosystems.contains(&affected.ecosystem))
                .collect();
            // With Pro, a record's Pro entry decides: its fixes ship only in the Pro archive,
            // so the plain entry's open range would report every Pro-fixed package.
            let has_pro_entry = relevant.iter().any(|affected| ecosystem::is_ubuntu_pro(&affected.ecosystem));
            for affected in
                relevant.into_iter().filter(|affected| !has_pro_entry || ecosystem::is_ubuntu_pro(&affected.ecosystem))
            {
                scheme = Some(affected.scheme);
                match affected.evaluate(&key.version) {
                    Ok(Verdict::Affected { fixed }) => {
                        matched_ecosystem.get_or_insert_with(|| affected.ecosystem.clone());
                        fixed_versions.push(fixed)
                    }
                    Ok(Verdict::NotAffected) => {}
                    Err(error) => unreadable.push(format!("{}: {error}", advisory.id)),
                }
            }
            if fixed_versions.is_empty() {
                continue;
            }
            let fixed = lowest(scheme, fixed_versions.into_iter().flatten());
            hits.push(Hit { advisory, fixed, ecosystem: matched_ecosystem.unwrap_or_else(|| key.ecosystem.clone()) });
        }
        if !unreadable.is_empty() {
            matched.issues.push(package_issue(
                package,
                format!(
                    "version {} of {} could not be compared, so {} advisories were not checked: {}",
                    key.version,
                    package.name,
                    unreadable.len(),
                    unreadable.first().map(String::as_str).unwrap_or("")
                ),
            ));
        }
        let scheme = ecosystem::scheme(&key.ecosystem);
        matched.findings.extend(merge(package, &key, scheme, hits));
    }
    for (reason, count) in unkeyed {
        matched.issues.push(Issue {
            severity: IssueSeverity::Warning,
            location: None,
            message: format!("{count} packages not matched against advisories: {reason}"),
        });
    }
    // Most severe first, fixable before unfixed; the key is computed once per finding.
    // Most severe first, fixable before unfixed, then by package and id. The band is
    // parsed once per finding and indices are sorted, not the (large) findings.
    let findings = std::mem::take(&mut matched.findings);
    let mut order: Vec<(std::cmp::Reverse<SeverityBand>, bool, usize)> = findings
        .iter()
        .enumerate()
        .map(|(index, finding)| (std::cmp::Reverse(rank(finding)), finding.fixed_version.is_none(), index))
        .collect();
    order.sort_by(|left, right| {
        (left.0, left.1).cmp(&(right.0, right.1)).then_with(|| {
            let (first, second) = (&findings[left.2], &findings[right.2]);
            first.package.cmp(&second.package).then_with(|| first.id.cmp(&second.id))
        })
    });
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    matched.findings =
        order.into_iter().filter_map(|(_, _, index)| slots.get_mut(index).and_then(Option::take)).collect();
    matched
}

/// Whether any unsuppressed finding is at or above `threshold` (`--fail-on`). A finding
/// of unknown severity counts as below every threshold, as in grype.
pub fn any_at_or_above(findings: &[Finding], threshold: SeverityBand) -> bool {
    findings.iter().any(|finding| {
        finding.suppressed.is_none() && rank(finding) >= threshold && rank(finding) != SeverityBand::Unknown
    })
}

fn package_issue(package: &Package, message: String) -> Issue {
    Issue { severity: IssueSeverity::Warning, location: package.locations.first().cloned(), message }
}

/// The band of a finding for sorting.
fn rank(finding: &Finding) -> SeverityBand {
    finding.severity.parse().unwrap_or(SeverityBand::Unknown)
}

/// The lowest of several fixed versions under `scheme`.
fn lowest(scheme: Option<version::Scheme>, versions: impl Iterator<Item = String>) -> Option<String> {
    versions.min_by(|left, right| match scheme {
        Some(scheme) => version::compare(scheme, left, right).unwrap_or(Ordering::Equal),
        None => left.cmp(right),
    })
}

/// Merge hits that share an identifier into one finding each (union-find over ids).
fn merge(package: &Package, key: &LookupKey, scheme: Option<version::Scheme>, hits: Vec<Hit>) -> Vec<Finding> {
    let mut parent: Vec<usize> = (0..hits.len()).collect();
    fn root(parent: &mut [usize], mut index: usize) -> usize {
        while let Some(&next) = parent.get(index) {
            if next == index {
                break;
            }
            index = next;
        }
        index
    }
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, hit) in hits.iter().enumerate() {
        for identifier in hit.advisory.identifiers() {
            match owner.get(identifier) {
                Some(&other) => {
                    let (left, right) = (root(&mut parent, index), root(&mut parent, other));
                    if let Some(slot) = parent.get_mut(left) {
                        *slot = right;
                    }
                }
                None => {
                    owner.insert(identifier, index);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&Hit>> = BTreeMap::new();
    for (index, hit) in hits.iter().enumerate() {
        let group = root(&mut parent, index);
        groups.entry(group).or_default().push(hit);
    }
    groups.into_values().map(|group| finding(package, key, scheme, &group)).collect()
}

fn finding(package: &Package, key: &LookupKey, scheme: Option<version::Scheme>, group: &[&Hit]) -> Finding {
    let identifiers: BTreeSet<&str> = group.iter().flat_map(|hit| hit.advisory.identifiers()).collect();
    let primary = identifiers
        .iter()
        .find(|identifier| identifier.starts_with("CVE-"))
        .or_else(|| identifiers.iter().next())
        .copied()
        .unwrap_or("");
    let mut records: Vec<String> = group.iter().map(|hit| hit.advisory.id.clone()).collect();
    records.sort();
    records.dedup();
    let severity: Option<&Severity> =
        group.iter().filter_map(|hit| hit.advisory.severity.as_ref()).max_by(|left, right| {
            left.band.cmp(&right.band).then_with(|| left.score.is_some().cmp(&right.score.is_some()))
        });
    // Sorted and cut while borrowed: records carry dozens of references, findings keep ten.
    let mut references: Vec<&str> =
        group.iter().flat_map(|hit| hit.advisory.references.iter().map(String::as_str)).collect();
    references.sort_unstable();
    references.dedup();
    references.truncate(10);
    let references: Vec<String> = references.into_iter().map(str::to_string).collect();
    Finding {
        id: primary.to_string(),
        aliases: identifiers
            .iter()
            .filter(|identifier| **identifier != primary)
            .map(|identifier| identifier.to_string())
            .collect(),
        advisories: records,
        package: package.name.clone(),
        installed_version: package.version.clone(),
        matched_name: key.name.clone(),
        matched_version: key.version.clone(),
        advisory_ecosystem: group.first().map_or_else(|| key.ecosystem.clone(), |hit| hit.ecosystem.clone()),
        ecosystem: package.ecosystem.purl_type().to_string(),
        purl: package.purl.clone(),
        fixed_version: lowest(scheme, group.iter().filter_map(|hit| hit.fixed.clone())),
        severity: severity.map_or(SeverityBand::Unknown, |severity| severity.band).name().to_string(),
        cvss_score: severity.and_then(|severity| severity.score),
        cvss_vector: severity.and_then(|severity| severity.vector.clone()),
        severity_source: severity.map(|severity| severity.source.clone()),
        summary: group.iter().find_map(|hit| hit.advisory.summary.clone()),
        references,
        locations: package.locations.clone(),
        suppressed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::store::write_bundle;
    use crate::advisory::{ImportCounts, osv};
    use crate::catalog::{Evidence, Location};

    fn package(
        name: &str,
        version: &str,
        ecosystem: Ecosystem,
        source: Option<(&str, &str)>,
        distro: Option<&str>,
    ) -> Package {
        Package {
            name: name.to_string(),
            version: version.to_string(),
            ecosystem,
            purl: format!("pkg:{}/{name}@{version}", ecosystem.purl_type()),
            arch: None,
            source_name: source.map(|(name, _)| name.to_string()),
            source_version: source.map(|(_, version)| version.to_string()),
            epoch: None,
            release: None,
            status: None,
            distro: distro.map(str::to_string),
            locations: vec![Location {
                volume: "disk.img".to_string(),
                partition: Some(1),
                path: "/var/lib/dpkg/status".to_string(),
            }],
            found_by: "test".to_string(),
            evidence: Evidence::Installed,
        }
    }

    fn database(name: &str, records: serde_json::Value) -> Database {
        let mut counts = ImportCounts::default();
        let advisories = osv::parse_document(records, "test.json", "test", &mut counts);
        assert!(counts.rejected.is_empty(), "{:?}", counts.rejected);
        let path = std::env::temp_dir().join(format!("snapscan-matcher-{name}-{}.db", std::process::id()));
        write_bundle(&path, vec![("test".to_string(), "-".to_string(), advisories, counts)], 0).unwrap();
        let database = Database::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        database
    }

    fn debian_record(id: &str, ecosystem: &str, package: &str, fixed: &str, aliases: &[&str]) -> serde_json::Value {
        serde_json::json!({"id": id, "aliases": aliases, "summary": format!("{id} summary"),
            "affected": [{"package": {"ecosystem": ecosystem, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]})
    }

    #[test]
    fn debian_matches_source_package_in_its_release_and_merges_by_cve() {
        let database = database(
            "debian",
            serde_json::json!([
                debian_record("DSA-5550-1", "Debian:12", "openssl", "3.0.11-1~deb12u2", &["CVE-2023-5363"]),
                debian_record("DEBIAN-CVE-2023-5363", "Debian:12", "openssl", "3.0.11-1~deb12u2", &["CVE-2023-5363"]),
                debian_record("DEBIAN-CVE-2024-0727", "Debian:12", "openssl", "3.0.13-1~deb12u1", &["CVE-2024-0727"]),
                debian_record("DEBIAN-CVE-2099-0001", "Debian:11", "openssl", "9.9.9-1", &["CVE-2099-0001"]),
                {"id": "DEBIAN-CVE-2023-0001", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                 "affected": [{"package": {"ecosystem": "Debian:12", "name": "bash"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}
            ]),
        );
        let libssl = package(
            "libssl3",
            "3.0.11-1~deb12u1",
            Ecosystem::Deb,
            Some(("openssl", "3.0.11-1~deb12u1")),
            Some("debian-12"),
        );
        // A binNMU binary: its own version has +b2, the source version does not.
        let bash = package("bash", "5.2.15-2+b2", Ecosystem::Deb, Some(("bash", "5.2.15-2")), Some("debian-12"));
        let old_release = package(
            "libssl3",
            "1.1.1n-0+deb11u1",
            Ecosystem::Deb,
            Some(("openssl", "1.1.1n-0+deb11u1")),
            Some("debian-11"),
        );
        let no_distro = package("zlib1g", "1:1.2.13.dfsg-1", Ecosystem::Deb, Some(("zlib", "1:1.2.13.dfsg-1")), None);
        let matched = match_packages(&[libssl, bash, old_release, no_distro], &database);
        let summary: Vec<(String, String, Vec<String>, Option<String>)> = matched
            .findings
            .iter()
            .map(|finding| {
                (finding.package.clone(), finding.id.clone(), finding.advisories.clone(), finding.fixed_version.clone())
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "bash".to_string(),
                    "DEBIAN-CVE-2023-0001".to_string(),
                    vec!["DEBIAN-CVE-2023-0001".to_string()],
                    None
                ),
                (
                    "libssl3".to_string(),
                    "CVE-2023-5363".to_string(),
                    vec!["DEBIAN-CVE-2023-5363".to_string(), "DSA-5550-1".to_string()],
                    Some("3.0.11-1~deb12u2".to_string())
                ),
                (
                    "libssl3".to_string(),
                    "CVE-2024-0727".to_string(),
                    vec!["DEBIAN-CVE-2024-0727".to_string()],
                    Some("3.0.13-1~deb12u1".to_string())
                ),
                // Debian:11 records match only the Debian 11 package.
                (
                    "libssl3".to_string(),
                    "CVE-2099-0001".to_string(),
                    vec!["DEBIAN-CVE-2099-0001".to_string()],
                    Some("9.9.9-1".to_string())
                ),
            ]
        );
        assert_eq!(matched.findings[0].severity, "critical");
        assert_eq!(matched.findings[0].cvss_score, Some(9.8));
        assert_eq!(matched.findings[1].severity, "unknown");
        assert!(
            matched
                .issues
                .iter()
                .any(|issue| issue.message.contains("1 packages not matched") && issue.message.contains("no distro")),
            "{:?}",
            matched.issues
        );
    }

    #[test]
    fn language_packages_use_normalised_names_and_nearest_fix() {
        let database = database(
            "pypi",
            serde_json::json!([
                {"id": "PYSEC-2024-1", "aliases": ["CVE-2024-1", "GHSA-aaaa-bbbb-cccc"], "affected": [{"package": {"ecosystem": "PyPI", "name": "Jinja2"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}, {"introduced": "3.0.0"}, {"fixed": "3.1.4"}]}]}]},
                {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2024-1"], "database_specific": {"severity": "HIGH"},
                  "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0"}, {"fixed": "3.1.4"}]}]}]},
                {"id": "GO-2024-1", "affected": [{"package": {"ecosystem": "Go", "name": "stdlib"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.21.11"}, {"introduced": "1.22.0-0"}, {"fixed": "1.22.4"}]}]}]}
            ]),
        );
        let jinja = package("Jinja2", "3.1.2", Ecosystem::Pypi, None, None);
        let safe = package("jinja2", "3.1.4", Ecosystem::Pypi, None, None);
        let go = package("stdlib", "go1.22.1", Ecosystem::Golang, None, None);
        let broken = package("jinja_2", "not a version!", Ecosystem::Pypi, None, None);
        let broken_name = package("JINJA2", "???", Ecosystem::Pypi, None, None);
        let matched = match_packages(&[jinja, safe, go, broken, broken_name], &database);
        assert_eq!(matched.findings.len(), 2, "{:#?}", matched.findings);
        let jinja = &matched.findings[0];
        assert_eq!(
            (jinja.id.as_str(), jinja.severity.as_str(), jinja.fixed_version.as_deref()),
            ("CVE-2024-1", "high", Some("3.1.4"))
        );
        assert_eq!(jinja.advisories, ["GHSA-aaaa-bbbb-cccc", "PYSEC-2024-1"]);
        assert_eq!(jinja.severity_source.as_deref(), Some("ghsa"));
        let go = &matched.findings[1];
        assert_eq!(
            (go.id.as_str(), go.fixed_version.as_deref(), go.matched_version.as_str()),
            ("GO-2024-1", Some("1.22.4"), "1.22.1")
        );
        // An unparsable installed version is an issue, never "not affected".
        assert_eq!(matched.issues.len(), 1, "{:?}", matched.issues);
        assert!(matched.issues[0].message.contains("could not be compared"));
    }

    /// (package, id, advisory ecosystem, fixed) of every finding, sorted.
    fn summary(matched: &Matched) -> Vec<(String, String, String, Option<String>)> {
        let mut found: Vec<_> = matched
            .findings
            .iter()
            .map(|finding| {
                (
                    finding.package.clone(),
                    finding.id.clone(),
                    finding.advisory_ecosystem.clone(),
                    finding.fixed_version.clone(),
                )
            })
            .collect();
        found.sort();
        found
    }

    fn row(package: &str, id: &str, ecosystem: &str, fixed: Option<&str>) -> (String, String, String, Option<String>) {
        (package.to_string(), id.to_string(), ecosystem.to_string(), fixed.map(str::to_string))
    }

    #[test]
    fn rhel_matches_every_stream_of_its_major_release_and_no_extended_support_stream() {
        let entry = |ecosystem: &str, name: &str, fixed: &str| {
            serde_json::json!({"package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]})
        };
        let database = database(
            "rhel",
            serde_json::json!([
                {"id": "RHSA-2024:0001", "aliases": ["CVE-2024-1"], "affected": [
                    entry("Red Hat:enterprise_linux:9::appstream", "httpd", "0:2.4.57-8.el9"),
                    entry("Red Hat:enterprise_linux:9::baseos", "openssl", "1:3.0.7-27.el9"),
                    entry("Red Hat:enterprise_linux:8::appstream", "httpd", "0:2.4.37-65.el8")]},
                // Extended update support has its own fixed versions; a plain RHEL 9 is not on it.
                {"id": "RHSA-2024:0002", "aliases": ["CVE-2024-2"], "affected": [
                    entry("Red Hat:rhel_eus:9.2::appstream", "httpd", "0:2.4.53-11.el9_2.9")]},
                {"id": "RHSA-2024:0003", "aliases": ["CVE-2024-3"], "affected": [
                    entry("Red Hat:enterprise_linux:9::crb", "httpd", "0:2.4.50-1.el9")]}
            ]),
        );
        let httpd = package("httpd", "2.4.53-7.el9", Ecosystem::Rpm, None, Some("rhel-9.4"));
        let openssl = package("openssl", "1:3.0.7-24.el9", Ecosystem::Rpm, None, Some("rhel-9.4"));
        let rhel8 = package("httpd", "2.4.37-62.el8", Ecosystem::Rpm, None, Some("rhel-8.9"));
        let matched = match_packages(&[httpd, openssl, rhel8], &database);
        assert_eq!(
            summary(&matched),
            [
                row("httpd", "CVE-2024-1", "Red Hat:enterprise_linux:8::appstream", Some("0:2.4.37-65.el8")),
                row("httpd", "CVE-2024-1", "Red Hat:enterprise_linux:9::appstream", Some("0:2.4.57-8.el9")),
                row("openssl", "CVE-2024-1", "Red Hat:enterprise_linux:9::baseos", Some("1:3.0.7-27.el9")),
            ]
        );
    }

    #[test]
    fn ubuntu_pro_records_apply_only_when_opted_in_and_then_decide() {
        let entry = |ecosystem: &str, events: serde_json::Value| {
            serde_json::json!({"package": {"ecosystem": ecosystem, "name": "wolfssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}]})
        };
        let database = database(
            "ubuntu",
            serde_json::json!([
                // Fixed only in the ESM archive: the plain entry stays open.
                {"id": "UBUNTU-CVE-2024-1", "affected": [
                    entry("Ubuntu:22.04:LTS", serde_json::json!([{"introduced": "0"}])),
                    entry("Ubuntu:Pro:22.04:LTS", serde_json::json!([{"introduced": "0"}, {"fixed": "5.2.0-2ubuntu0.1~esm1"}])),
                    entry("Ubuntu:Pro:FIPS:22.04:LTS", serde_json::json!([{"introduced": "0"}]))]},
                // Only Pro has a record for this one.
                {"id": "UBUNTU-CVE-2024-2", "affected": [
                    entry("Ubuntu:Pro:22.04:LTS", serde_json::json!([{"introduced": "0"}, {"fixed": "5.2.0-2ubuntu0.2~esm1"}]))]}
            ]),
        );
        let installed = |version: &str| {
            package("libwolfssl35", version, Ecosystem::Deb, Some(("wolfssl", version)), Some("ubuntu-22.04"))
        };
        let plain = match_packages(&[installed("5.2.0-2")], &database);
        assert_eq!(summary(&plain), [row("libwolfssl35", "UBUNTU-CVE-2024-1", "Ubuntu:22.04:LTS", None)]);
        let pro = MatchOptions { ubuntu_pro: true };
        let matched = match_packages_with(&[installed("5.2.0-2")], &database, pro);
        assert_eq!(
            summary(&matched),
            [
                row("libwolfssl35", "UBUNTU-CVE-2024-1", "Ubuntu:Pro:22.04:LTS", Some("5.2.0-2ubuntu0.1~esm1")),
                row("libwolfssl35", "UBUNTU-CVE-2024-2", "Ubuntu:Pro:22.04:LTS", Some("5.2.0-2ubuntu0.2~esm1")),
            ]
        );
        // The Pro fix installed: the Pro entry decides, the plain entry's open range does not.
        let matched = match_packages_with(&[installed("5.2.0-2ubuntu0.1~esm1")], &database, pro);
        assert_eq!(
            summary(&matched),
            [row("libwolfssl35", "UBUNTU-CVE-2024-2", "Ubuntu:Pro:22.04:LTS", Some("5.2.0-2ubuntu0.2~esm1"))]
        );
    }
}
