//! SPDX 2.3 JSON: the SBOM format licence and compliance tooling (and US federal SBOM
//! requirements) expect.
//!
//! The document describes each target; a target contains the operating system found on
//! each of its partitions, and each OS contains the packages found on that partition
//! (packages on a partition without a detected distro hang off the target directly).
//! Every package carries its purl as a `PACKAGE-MANAGER` external reference. SPDXIDs are
//! derived from content — never from run order alone — so re-running a scan of the same
//! disk gives the same ids and SBOM diffs stay meaningful.

use crate::catalog::{Location, Package};
use crate::model::{Scan, Target};
use crate::report::common;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Write `scan` as an SPDX 2.3 JSON document.
pub fn write(scan: &Scan, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    common::write_json(&document(scan), output)
}

/// Longest name fragment kept in an SPDXID, so hostile names cannot make huge ids.
const ID_NAME_LIMIT: usize = 64;

/// An SPDXID-safe fragment: letters, digits, `.` and `-` (the spec's idstring).
fn id_fragment(text: &str) -> String {
    text.chars()
        .take(ID_NAME_LIMIT)
        .map(
            |character| {
                if character.is_ascii_alphanumeric() || character == '.' || character == '-' { character } else { '-' }
            },
        )
        .collect()
}

/// Hands out SPDXIDs, adding `-2`, `-3`… if a derived id repeats.
#[derive(Default)]
struct Identifiers {
    used: BTreeMap<String, usize>,
}

impl Identifiers {
    fn take(&mut self, base: String) -> String {
        let count = self.used.entry(base.clone()).or_insert(0);
        *count = count.saturating_add(1);
        if *count == 1 { base } else { format!("{base}-{count}") }
    }
}

/// The key of the partition a location is on: (volume, partition number).
fn place_of(location: &Location) -> (String, Option<u32>) {
    (location.volume.clone(), location.partition)
}

fn document(scan: &Scan) -> Value {
    let mut identifiers = Identifiers::default();
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let relate = |element: &str, kind: &str, related: &str| json!({ "spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related });

    // Where each partition's packages attach: its OS package, else its target package.
    let mut parents: BTreeMap<(String, Option<u32>), String> = BTreeMap::new();
    for (index, target) in scan.targets.iter().enumerate() {
        let target_id = identifiers.take(format!("SPDXRef-Target-{}-{}", index + 1, id_fragment(&target.name)));
        packages.push(target_package(target, &target_id));
        relationships.push(relate("SPDXRef-DOCUMENT", "DESCRIBES", &target_id));
        for volume in &target.volumes {
            // A later partition entry with the same key must not steal an earlier target's.
            parents.entry((volume.id.clone(), None)).or_insert_with(|| target_id.clone());
            for partition in &volume.partitions {
                let key = (volume.id.clone(), partition.number);
                let Some(distro) = &partition.distro else {
                    parents.entry(key).or_insert_with(|| target_id.clone());
                    continue;
                };
                let place = match partition.number {
                    Some(number) => format!("{}-p{number}", volume.id),
                    None => volume.id.clone(),
                };
                let system_id = identifiers.take(format!("SPDXRef-OperatingSystem-{}", id_fragment(&place)));
                let mut system = json!({
                    "SPDXID": system_id,
                    "name": distro.id,
                    "downloadLocation": "NOASSERTION",
                    "filesAnalyzed": false,
                    "primaryPackagePurpose": "OPERATING-SYSTEM",
                });
                if let Some(version) = &distro.version_id {
                    system["versionInfo"] = json!(version);
                }
                if let Some(pretty) = &distro.pretty_name {
                    system["description"] = json!(pretty);
                }
                packages.push(system);
                relationships.push(relate(&target_id, "CONTAINS", &system_id));
                parents.entry(key).or_insert(system_id);
            }
        }
    }

    for package in &scan.packages {
        let digest = common::content_hash(&[&package.purl]);
        let short = digest.get(..12).unwrap_or(&digest);
        let package_id = identifiers.take(format!(
            "SPDXRef-Package-{}-{}-{short}",
            package.ecosystem.purl_type(),
            id_fragment(&package.name)
        ));
        packages.push(package_entry(package, &package_id));
        // Once per containing element, even when found in several places under it.
        let containers: BTreeSet<&String> = package
            .locations
            .iter()
            .filter_map(|location| {
                parents.get(&place_of(location)).or_else(|| parents.get(&(location.volume.clone(), None)))
            })
            .collect();
        if containers.is_empty() {
            relationships.push(relate("SPDXRef-DOCUMENT", "DESCRIBES", &package_id));
        }
        for container in containers {
            relationships.push(relate(container, "CONTAINS", &package_id));
        }
    }

    let target_names: Vec<&str> = scan.targets.iter().map(|target| target.name.as_str()).collect();
    let timestamp = common::generated_at().rfc3339();
    let identity = common::scan_identity(scan);
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("snapscan {}", target_names.join(", ")),
        "documentNamespace": format!("https://spdx.org/spdxdocs/snapscan-{}", common::content_uuid(&[&identity, &timestamp])),
        "creationInfo": {
            "created": timestamp,
            "creators": [format!("Tool: {}-{}", scan.tool.name, scan.tool.version)],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !scan.issues.is_empty() {
        // SPDX has no place for scan problems; the comment keeps them with the SBOM.
        let lines: Vec<String> = scan.issues.iter().map(common::issue_line).collect();
        document["comment"] =
            json!(format!("snapscan issues (the inventory may be incomplete):\n{}", lines.join("\n")));
    }
    document
}

fn target_package(target: &Target, id: &str) -> Value {
    // A disk image is a file; an instance is a device; snapshots and AMIs are other.
    let purpose = match target.kind.as_str() {
        "image" => "FILE",
        "instance" => "DEVICE",
        _ => "OTHER",
    };
    json!({
        "SPDXID": id,
        "name": target.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": purpose,
        "comment": match &target.error {
            Some(error) => format!("snapscan target of kind {}, not scanned: {error}", target.kind),
            None => format!("snapscan target of kind {}", target.kind),
        },
    })
}

fn package_entry(package: &Package, id: &str) -> Value {
    let places: Vec<String> = package.locations.iter().map(ToString::to_string).collect();
    let evidence = match package.evidence {
        crate::catalog::Evidence::Installed => "installed",
        crate::catalog::Evidence::Declared => "declared",
    };
    let mut entry = json!({
        "SPDXID": id,
        "name": package.name,
        "versionInfo": package.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": if package.ecosystem.is_os() { "APPLICATION" } else { "LIBRARY" },
        "sourceInfo": format!("{evidence}; found by {} at {}", package.found_by, places.join(", ")),
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": package.purl,
        }],
    });
    let mut notes = Vec::new();
    if let Some(arch) = &package.arch {
        notes.push(format!("arch {arch}"));
    }
    if let Some(source) = &package.source_name {
        let version = package.source_version.as_deref().map(|version| format!(" {version}")).unwrap_or_default();
        notes.push(format!("source package {source}{version}"));
    }
    if let Some(status) = &package.status {
        notes.push(format!("status {status}"));
    }
    if !notes.is_empty() {
        entry["comment"] = json!(notes.join("; "));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn written(scan: &Scan) -> Value {
        common::written_json(write, scan)
    }

    fn ids_named(document: &Value, name: &str) -> Vec<String> {
        document["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter(|package| package["name"] == name)
            .filter_map(|package| package["SPDXID"].as_str().map(str::to_string))
            .collect()
    }

    fn relationships(document: &Value) -> Vec<(String, String, String)> {
        document["relationships"]
            .as_array()
            .expect("relationships")
            .iter()
            .map(|relation| {
                let text = |key: &str| relation[key].as_str().unwrap_or_default().to_string();
                (text("spdxElementId"), text("relationshipType"), text("relatedSpdxElement"))
            })
            .collect()
    }

    #[test]
    fn the_document_describes_the_target_which_contains_the_os_which_contains_packages() {
        let document = written(&sample::scan());
        assert_eq!(document["spdxVersion"], "SPDX-2.3");
        let target = ids_named(&document, "disk.img");
        let system = ids_named(&document, "debian");
        let openssl = ids_named(&document, "openssl");
        assert_eq!((target.len(), system.len(), openssl.len()), (1, 1, 1));
        let relations = relationships(&document);
        assert!(relations.contains(&("SPDXRef-DOCUMENT".into(), "DESCRIBES".into(), target[0].clone())));
        assert!(relations.contains(&(target[0].clone(), "CONTAINS".into(), system[0].clone())));
        assert!(relations.contains(&(system[0].clone(), "CONTAINS".into(), openssl[0].clone())));
        // requests was found twice on the same partition: contained once.
        let requests = ids_named(&document, "requests");
        assert_eq!(relations.iter().filter(|relation| relation.2 == requests[0]).count(), 1);
    }

    #[test]
    fn packages_carry_purls_and_safe_deterministic_ids() {
        let scan = sample::scan();
        let first = written(&scan);
        let second = written(&scan);
        assert_eq!(first["packages"], second["packages"]);
        let packages = first["packages"].as_array().expect("packages");
        let mut seen = BTreeSet::new();
        for package in packages {
            let id = package["SPDXID"].as_str().expect("id");
            assert!(seen.insert(id.to_string()), "duplicate {id}");
            let idstring = id.strip_prefix("SPDXRef-").expect("prefix");
            assert!(
                idstring
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '.' || character == '-'),
                "{id}"
            );
        }
        let openssl = packages.iter().find(|package| package["name"] == "openssl").expect("openssl");
        assert_eq!(
            openssl["externalRefs"][0]["referenceLocator"],
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
        assert_eq!(openssl["externalRefs"][0]["referenceType"], "purl");
        let bash = packages.iter().find(|package| package["name"] == "bash").expect("bash");
        assert_eq!(bash["comment"], "arch amd64; source package bash 5.2.15-2");
    }

    #[test]
    fn a_package_outside_any_target_is_described_by_the_document() {
        let mut scan = sample::scan();
        scan.packages[0].locations = vec![Location { volume: "elsewhere".into(), partition: None, path: "/x".into() }];
        let document = written(&scan);
        let bash = ids_named(&document, "bash");
        assert!(relationships(&document).contains(&("SPDXRef-DOCUMENT".into(), "DESCRIBES".into(), bash[0].clone())));
    }

    #[test]
    fn issues_are_kept_in_the_document_comment_and_an_empty_scan_still_writes() {
        let document = written(&sample::scan());
        let comment = document["comment"].as_str().expect("comment");
        assert!(comment.contains("warning: disk.img/p2:/var/lib/dpkg/status: stanza 7: no Version field"), "{comment}");
        let mut empty = sample::scan();
        empty.targets.clear();
        empty.packages.clear();
        empty.issues.clear();
        let document = written(&empty);
        assert_eq!(document["packages"], json!([]));
        assert!(document.get("comment").is_none());
    }

    #[test]
    fn id_fragments_are_bounded_and_clean() {
        assert_eq!(id_fragment("=HYPERLINK(\"x\")"), "-HYPERLINK--x--");
        assert_eq!(id_fragment(&"é".repeat(1000)).len(), ID_NAME_LIMIT);
        let mut identifiers = Identifiers::default();
        assert_eq!(identifiers.take("SPDXRef-a".into()), "SPDXRef-a");
        assert_eq!(identifiers.take("SPDXRef-a".into()), "SPDXRef-a-2");
    }
}
