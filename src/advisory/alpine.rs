//! Alpine secdb (`secdb.alpinelinux.org/v3.20/main.json`, and the older YAML files):
//! per release and repository, each package's `secfixes` maps a fixed version to the
//! CVEs it fixes. Each (CVE, release) becomes one advisory `ALPINE-CVE-…` with an
//! affected entry per package, range `introduced 0, fixed <version>`, under the
//! ecosystem `Alpine:v3.20` that OSV and [`crate::distro::Distro::advisory_ecosystem`]
//! use. A fix version of `0` means "never affected in this release" and is skipped.

use super::{Advisory, Affected, Event, ImportCounts, Range, VersionList};
use crate::version::Scheme;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
struct RawSecdb {
    distroversion: String,
    #[serde(default)]
    packages: Vec<RawPackageEntry>,
}

#[derive(Debug, Deserialize)]
struct RawPackageEntry {
    pkg: RawPackage,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    name: String,
    #[serde(default)]
    secfixes: BTreeMap<String, Option<Vec<Value>>>,
}

/// Whether a parsed document is an Alpine-style secdb.
pub fn looks_like_secdb(document: &Value) -> bool {
    document.get("packages").is_some_and(Value::is_array)
        && (document.get("distroversion").is_some() || document.get("apkurl").is_some())
}

/// Convert a secdb document. Wolfi/Chainguard secdbs (no `distroversion`) are filed
/// under `Wolfi`.
pub fn parse_document(mut document: Value, label: &str, source: &str, counts: &mut ImportCounts) -> Vec<Advisory> {
    if document.get("distroversion").is_none()
        && let Some(object) = document.as_object_mut()
    {
        object.insert("distroversion".to_string(), Value::String(String::new()));
    }
    let secdb: RawSecdb = match serde_json::from_value(document) {
        Ok(secdb) => secdb,
        Err(error) => {
            counts.records += 1;
            counts.rejected.push(format!("{label}: not a valid secdb: {error}"));
            return Vec::new();
        }
    };
    let ecosystem = match secdb.distroversion.trim() {
        "" => "Wolfi".to_string(),
        release if release.starts_with('v') => format!("Alpine:{release}"),
        release => format!("Alpine:v{release}"),
    };
    // CVE → package → fixed versions, so each CVE is one advisory.
    let mut by_cve: BTreeMap<String, Vec<Affected>> = BTreeMap::new();
    for entry in secdb.packages {
        let name = entry.pkg.name;
        for (fixed, identifiers) in entry.pkg.secfixes {
            let fixed = fixed.trim().to_string();
            let identifiers: Vec<String> = identifiers
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .flat_map(str::split_whitespace)
                .filter(|identifier| identifier.starts_with("CVE-") || identifier.contains('-'))
                .map(str::to_string)
                .collect();
            // One secfixes entry (a package's fixed version and its CVEs) is one record.
            counts.records += 1;
            if fixed == "0" {
                // "Not affected in this release": nothing to match.
                counts.imported += 1;
                continue;
            }
            let range =
                match Range::new(Scheme::Apk, vec![Event::Introduced("0".to_string()), Event::Fixed(fixed.clone())]) {
                    Ok(range) => range,
                    Err(error) => {
                        counts.rejected.push(format!("{label}: {name} {fixed}: {error}"));
                        continue;
                    }
                };
            counts.imported += 1;
            for identifier in identifiers {
                by_cve.entry(identifier).or_default().push(Affected {
                    ecosystem: ecosystem.clone(),
                    name: name.clone(),
                    normalized_name: name.clone(),
                    scheme: Scheme::Apk,
                    ranges: vec![range.clone()],
                    versions: VersionList::default(),
                });
            }
        }
    }
    by_cve
        .into_iter()
        .map(|(identifier, affected)| Advisory {
            id: format!("ALPINE-{identifier}"),
            aliases: vec![identifier],
            summary: None,
            modified: None,
            severity: None,
            references: Vec::new(),
            affected,
            source: source.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::Verdict;

    #[test]
    fn reads_yaml_secdb() {
        let yaml = "distroversion: v3.11\nreponame: main\npackages:\n  - pkg:\n      name: openssl\n      secfixes:\n        1.1.1d-r2:\n          - CVE-2019-1551\n        1.1.1g-r0:\n          - CVE-2020-1967 CVE-2020-1968\n        0:\n          - CVE-2000-0001\n        bogus version:\n          - CVE-2020-9999\n";
        let document: Value = crate::catalog::language::parse_yaml_documents::<Value>(yaml).unwrap().remove(0);
        assert!(looks_like_secdb(&document));
        let mut counts = ImportCounts::default();
        let advisories = parse_document(document, "main.yaml", "alpine", &mut counts);
        let ids: Vec<&str> = advisories.iter().map(|advisory| advisory.id.as_str()).collect();
        assert_eq!(ids, ["ALPINE-CVE-2019-1551", "ALPINE-CVE-2020-1967", "ALPINE-CVE-2020-1968"]);
        assert_eq!((counts.records, counts.imported, counts.rejected.len()), (4, 3, 1));
        let affected = &advisories[0].affected[0];
        assert_eq!(affected.ecosystem, "Alpine:v3.11");
        assert_eq!(affected.evaluate("1.1.1d-r0"), Ok(Verdict::Affected { fixed: Some("1.1.1d-r2".to_string()) }));
        assert_eq!(affected.evaluate("1.1.1d-r2"), Ok(Verdict::NotAffected));
    }

    #[test]
    fn garbage_secdb_is_one_rejection() {
        let mut counts = ImportCounts::default();
        let document = serde_json::json!({"distroversion": "v3.12", "packages": "nope"});
        assert!(parse_document(document, "x.json", "alpine", &mut counts).is_empty());
        assert_eq!(counts.rejected.len(), 1);
    }
}
