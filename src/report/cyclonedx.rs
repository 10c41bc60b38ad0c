//! CycloneDX 1.6 JSON: the SBOM most vulnerability platforms (Dependency-Track, GUAC, …)
//! import, with the vulnerabilities found inline (the "BOM with VEX" shape).
//!
//! Each package becomes a component with its purl and its locations as evidence
//! occurrences; each distro found on a partition becomes an `operating-system` component;
//! each vulnerability id becomes one entry whose `affects` names every package it hits,
//! with the installed version as affected and the fixed version as unaffected. The scanned
//! target is `metadata.component`; non-fatal issues travel as `snapscan:issue` properties
//! so a consumer sees that the inventory may be incomplete.

use crate::catalog::Package;
use crate::model::{Finding, Scan, Target};
use crate::report::common;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Write `scan` as a CycloneDX 1.6 JSON document.
pub fn write(scan: &Scan, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    common::write_json(&document(scan), output)
}

/// The document as a JSON value.
fn document(scan: &Scan) -> Value {
    let references = package_references(&scan.packages);
    let mut components: Vec<Value> = operating_systems(scan);
    components.extend(scan.packages.iter().zip(&references).map(|(package, reference)| component(package, reference)));
    let identity = common::scan_identity(scan);
    let timestamp = common::generated_at().rfc3339();
    let mut document = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", common::content_uuid(&[&identity, &timestamp])),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": { "components": [{ "type": "application", "name": scan.tool.name, "version": scan.tool.version }] },
            "component": target_component(&scan.targets),
            "properties": scan.issues.iter().map(|issue| property("snapscan:issue", common::issue_line(issue))).collect::<Vec<_>>(),
        },
        "components": components,
    });
    if !scan.findings.is_empty() {
        document["vulnerabilities"] = Value::Array(vulnerabilities(scan, &references));
    }
    document
}

fn property(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

/// A unique `bom-ref` per package: its purl, with `#2`, `#3`… on repeats.
fn package_references(packages: &[Package]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    packages
        .iter()
        .map(|package| {
            let count = seen.entry(package.purl.as_str()).or_insert(0);
            *count = count.saturating_add(1);
            if *count == 1 { package.purl.clone() } else { format!("{}#{count}", package.purl) }
        })
        .collect()
}

/// The scanned target, or a platform holding all of them when there are several.
fn target_component(targets: &[Target]) -> Value {
    let one = |index: usize, target: &Target| {
        // A disk image is a file; an instance is a machine; a snapshot or AMI is data.
        let kind = match target.kind.as_str() {
            "image" => "file",
            "instance" => "device",
            _ => "data",
        };
        let mut properties = vec![property("snapscan:target_kind", target.kind.clone())];
        if let Some(error) = &target.error {
            properties.push(property("snapscan:target_error", error.clone()));
        }
        json!({
            "type": kind,
            "bom-ref": format!("target-{}", index + 1),
            "name": target.name,
            "properties": properties,
        })
    };
    match targets {
        [target] => one(0, target),
        _ => json!({
            "type": "platform",
            "bom-ref": "targets",
            "name": format!("{} targets", targets.len()),
            "components": targets.iter().enumerate().map(|(index, target)| one(index, target)).collect::<Vec<_>>(),
        }),
    }
}

/// One `operating-system` component per partition with a detected distro.
fn operating_systems(scan: &Scan) -> Vec<Value> {
    let mut systems = Vec::new();
    for volume in scan.targets.iter().flat_map(|target| &target.volumes) {
        for partition in &volume.partitions {
            let Some(distro) = &partition.distro else {
                continue;
            };
            let place = match partition.number {
                Some(number) => format!("{}/p{number}", volume.id),
                None => volume.id.clone(),
            };
            let mut system = json!({
                "type": "operating-system",
                "bom-ref": format!("os:{place}"),
                "name": distro.id,
                "evidence": { "occurrences": [{ "location": format!("{place}:/") }] },
            });
            if let Some(version) = &distro.version_id {
                system["version"] = json!(version);
            }
            if let Some(pretty) = &distro.pretty_name {
                system["description"] = json!(pretty);
            }
            systems.push(system);
        }
    }
    systems
}

fn component(package: &Package, reference: &str) -> Value {
    let mut properties = vec![
        property("snapscan:found_by", package.found_by.clone()),
        property(
            "snapscan:evidence",
            match package.evidence {
                crate::catalog::Evidence::Installed => "installed",
                crate::catalog::Evidence::Declared => "declared",
            },
        ),
    ];
    let optional = [
        ("snapscan:arch", &package.arch),
        ("snapscan:source_name", &package.source_name),
        ("snapscan:source_version", &package.source_version),
        ("snapscan:status", &package.status),
        ("snapscan:distro", &package.distro),
    ];
    properties
        .extend(optional.iter().filter_map(|(name, value)| value.as_ref().map(|value| property(name, value.clone()))));
    let occurrences: Vec<Value> =
        package.locations.iter().map(|location| json!({ "location": location.to_string() })).collect();
    json!({
        "type": "library",
        "bom-ref": reference,
        "name": package.name,
        "version": package.version,
        "purl": package.purl,
        "evidence": { "occurrences": occurrences },
        "properties": properties,
    })
}

/// CycloneDX severity names (ours plus `unknown` for anything unexpected).
fn rating_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "critical",
        "high" => "high",
        "medium" => "medium",
        "low" => "low",
        "none" => "none",
        _ => "unknown",
    }
}

/// CycloneDX's name for how a vector scores: `CVSSv31`, `CVSSv3`, `CVSSv4`, `CVSSv2`, or
/// `other` for a vector in no CVSS version we know.
fn rating_method(vector: &str) -> &'static str {
    match common::cvss_version(vector) {
        Some("3.1") => "CVSSv31",
        Some("3.0") => "CVSSv3",
        Some("4.0") => "CVSSv4",
        Some("2.0") => "CVSSv2",
        _ => "other",
    }
}

fn vulnerabilities(scan: &Scan, references: &[String]) -> Vec<Value> {
    let index = common::PackageIndex::new(scan);
    // Suppressed findings are left out: a rule records a reason, not one of CycloneDX's
    // analysis states, and `not_affected` would be a VEX claim the user never made.
    common::findings_by_vulnerability(common::unsuppressed(scan))
        .into_iter()
        .map(|(id, findings)| {
            let (publisher, url) = common::advisory_source(id);
            let aliases: BTreeSet<&str> =
                findings.iter().flat_map(|finding| finding.aliases.iter().map(String::as_str)).collect();
            let mut entry = json!({
                "bom-ref": format!("vulnerability:{id}"),
                "id": id,
                "source": { "name": publisher, "url": url },
                "ratings": ratings(id, &findings),
                "affects": findings.iter().map(|finding| affected(&index, references, finding)).collect::<Vec<_>>(),
            });
            if !aliases.is_empty() {
                entry["references"] = aliases
                    .iter()
                    .map(|alias| {
                        let (publisher, url) = common::advisory_source(alias);
                        json!({ "id": alias, "source": { "name": publisher, "url": url } })
                    })
                    .collect();
            }
            if let Some(summary) = findings.iter().find_map(|finding| finding.summary.as_deref()) {
                entry["description"] = json!(summary);
            }
            let upgrades: Vec<String> = findings
                .iter()
                .filter_map(|finding| {
                    finding
                        .fixed_version
                        .as_ref()
                        .map(|fixed| format!("upgrade {} to {fixed} or later", finding.package))
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !upgrades.is_empty() {
                entry["recommendation"] = json!(upgrades.join("; "));
            }
            entry
        })
        .collect()
}

/// One rating per distinct (source, score, severity, vector) among the findings of a
/// vulnerability. The source is the vulnerability's publisher: findings do not record
/// which of their merged advisory records the vector came from.
fn ratings(id: &str, findings: &[&Finding]) -> Vec<Value> {
    let (publisher, url) = common::advisory_source(id);
    let mut ratings: Vec<Value> = Vec::new();
    for finding in findings {
        let mut rating = json!({
            "source": { "name": publisher, "url": url },
            "severity": rating_severity(&finding.severity),
        });
        if let Some(score) = finding.cvss_score.filter(|score| score.is_finite()) {
            rating["score"] = json!(score);
        }
        if let Some(vector) = finding.cvss_vector.as_deref().filter(|vector| !vector.trim().is_empty()) {
            rating["method"] = json!(rating_method(vector));
            rating["vector"] = json!(vector);
        }
        if !ratings.contains(&rating) {
            ratings.push(rating);
        }
    }
    ratings
}

fn affected(index: &common::PackageIndex<'_>, references: &[String], finding: &Finding) -> Value {
    let reference = index
        .package_of(finding)
        .and_then(|(index, _)| references.get(index).cloned())
        .unwrap_or_else(|| finding.purl.clone());
    let mut versions = vec![json!({ "version": finding.installed_version, "status": "affected" })];
    if let Some(fixed) = &finding.fixed_version {
        versions.push(json!({ "version": fixed, "status": "unaffected" }));
    }
    json!({ "ref": reference, "versions": versions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn written(scan: &Scan) -> Value {
        common::written_json(write, scan)
    }

    #[test]
    fn packages_become_components_with_purls_and_occurrences() {
        let scan = sample::scan();
        let document = written(&scan);
        assert_eq!(document["specVersion"], "1.6");
        let components = document["components"].as_array().expect("components");
        let libraries: Vec<&Value> = components.iter().filter(|component| component["type"] == "library").collect();
        assert_eq!(libraries.len(), scan.packages.len());
        let requests = libraries.iter().find(|component| component["name"] == "requests").expect("requests");
        assert_eq!(requests["purl"], "pkg:pypi/requests@2.31.0");
        assert_eq!(requests["evidence"]["occurrences"].as_array().map(Vec::len), Some(2));
        assert_eq!(requests["evidence"]["occurrences"][1]["location"], "disk.img/p2:/opt/app/requirements.txt");
        let properties = requests["properties"].as_array().expect("properties");
        assert!(properties.contains(&property("snapscan:evidence", "declared")));
        assert!(properties.contains(&property("snapscan:found_by", "python")));
    }

    #[test]
    fn the_distro_is_an_operating_system_component() {
        let document = written(&sample::scan());
        let systems: Vec<&Value> = document["components"]
            .as_array()
            .expect("components")
            .iter()
            .filter(|component| component["type"] == "operating-system")
            .collect();
        assert_eq!(systems.len(), 1, "only partition 2 has a distro");
        assert_eq!(systems[0]["name"], "debian");
        assert_eq!(systems[0]["version"], "12");
        assert_eq!(systems[0]["bom-ref"], "os:disk.img/p2");
    }

    #[test]
    fn one_vulnerability_per_id_affecting_every_package() {
        let document = written(&sample::scan());
        let vulnerabilities = document["vulnerabilities"].as_array().expect("vulnerabilities");
        let ids: Vec<&str> = vulnerabilities.iter().filter_map(|vulnerability| vulnerability["id"].as_str()).collect();
        assert_eq!(ids, ["CVE-2024-0001", "CVE-2024-5535", "GHSA-9wx4-h78v-vm56"]);
        let openssl = &vulnerabilities[1];
        let affected: Vec<&str> = openssl["affects"]
            .as_array()
            .expect("affects")
            .iter()
            .filter_map(|affect| affect["ref"].as_str())
            .collect();
        assert_eq!(
            affected,
            [
                "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
                "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
            ]
        );
        let nvd = json!({ "name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2024-5535" });
        assert_eq!(openssl["ratings"], json!([{ "source": nvd, "severity": "critical", "score": 9.1 }]));
        assert_eq!(
            openssl["affects"][0]["versions"][1],
            json!({ "version": "3.0.15-1~deb12u1", "status": "unaffected" })
        );
        let no_fix = &vulnerabilities[0];
        assert_eq!(no_fix["ratings"][0]["severity"], "unknown");
        assert!(no_fix["ratings"][0].get("method").is_none(), "no vector, no method");
        assert_eq!(no_fix["affects"][0]["versions"].as_array().map(Vec::len), Some(1));
        assert!(no_fix.get("recommendation").is_none());
        assert_eq!(vulnerabilities[2]["references"][0]["id"], "CVE-2024-35195");
    }

    #[test]
    fn cvss_vectors_become_rating_methods_and_vectors() {
        let mut scan = sample::scan();
        let vectors = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", "CVSSv31"),
            ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "CVSSv4"),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSSv3"),
            ("X:1/Y:2", "other"),
        ];
        for (finding, (vector, _)) in scan.findings.iter_mut().zip(vectors) {
            finding.cvss_vector = Some(vector.to_string());
        }
        let document = written(&scan);
        let vulnerabilities = document["vulnerabilities"].as_array().expect("vulnerabilities");
        for (finding, (vector, method)) in scan.findings.iter().zip(vectors) {
            let vulnerability = vulnerabilities.iter().find(|entry| entry["id"] == finding.id.as_str()).expect("entry");
            let rating = vulnerability["ratings"]
                .as_array()
                .expect("ratings")
                .iter()
                .find(|rating| rating["vector"] == vector)
                .unwrap_or_else(|| panic!("a rating with {vector} in {vulnerability}"));
            assert_eq!(rating["method"], method, "{vector}");
        }
    }

    #[test]
    fn issues_and_target_are_in_metadata() {
        let document = written(&sample::scan());
        assert_eq!(document["metadata"]["component"]["name"], "disk.img");
        assert_eq!(document["metadata"]["component"]["type"], "file");
        let issues = document["metadata"]["properties"].as_array().expect("properties");
        assert_eq!(issues[0]["value"], "warning: disk.img/p2:/var/lib/dpkg/status: stanza 7: no Version field");
        assert_eq!(issues[1]["value"], "error: partition 1: unsupported filesystem");
    }

    #[test]
    fn an_empty_scan_is_a_valid_empty_bom() {
        let mut scan = sample::scan();
        scan.packages.clear();
        scan.findings.clear();
        scan.issues.clear();
        scan.targets[0].volumes.clear();
        let document = written(&scan);
        assert_eq!(document["components"], json!([]));
        assert!(document.get("vulnerabilities").is_none());
    }

    #[test]
    fn repeated_purls_get_distinct_references_and_the_same_scan_the_same_serial() {
        let mut scan = sample::scan();
        let copy = scan.packages[0].clone();
        scan.packages.push(copy);
        let references = package_references(&scan.packages);
        assert_eq!(references.iter().collect::<BTreeSet<_>>().len(), references.len());
        assert!(references.last().is_some_and(|reference| reference.ends_with("#2")));
        assert_eq!(written(&scan)["serialNumber"], written(&scan)["serialNumber"]);
        let mut failed = scan.targets[0].clone();
        failed.error = Some("cannot open image".into());
        let several = Scan { targets: vec![scan.targets[0].clone(), failed], ..scan };
        let document = written(&several);
        assert_eq!(document["metadata"]["component"]["type"], "platform");
        assert_eq!(document["metadata"]["component"]["components"][1]["properties"][1]["value"], "cannot open image");
    }
}
