//! Amazon Linux security advisories (ALAS) from yum `updateinfo.xml` (optionally
//! gzip-compressed, as repositories publish it): each `<update type="security">` names
//! the fixed packages with epoch, version and release. Amazon Linux has no OSV
//! ecosystem, so records are filed under `Amazon Linux:1|2|2022|2023`, chosen from the
//! advisory id prefix (`ALAS-`, `ALAS2-`, `ALAS2022-`, `ALAS2023-`), and match RPM
//! binary package names.

use super::{Advisory, Affected, Event, ImportCounts, Range, Severity, VersionList};
use crate::version::Scheme;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use std::collections::BTreeMap;

/// One `<update>` while it is being read.
#[derive(Default)]
struct PendingUpdate {
    id: String,
    kind: String,
    title: String,
    severity: String,
    updated: String,
    references: Vec<(String, String, String)>,
    packages: BTreeMap<String, String>,
}

/// The ecosystem of an ALAS id, by its prefix.
pub fn ecosystem_of(id: &str) -> Option<&'static str> {
    let prefix = id.rsplitn(3, '-').nth(2)?;
    Some(match prefix {
        "ALAS" => "Amazon Linux:1",
        "ALAS2" => "Amazon Linux:2",
        "ALAS2022" => "Amazon Linux:2022",
        "ALAS2023" => "Amazon Linux:2023",
        _ => return None,
    })
}

pub(crate) fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    element.attributes().flatten().find(|attribute| attribute.key.as_ref() == name).and_then(|attribute| {
        attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|value| value.into_owned())
    })
}

/// Read an `updateinfo.xml` document.
pub fn parse_document(xml: &str, label: &str, source: &str, counts: &mut ImportCounts) -> Vec<Advisory> {
    let mut reader = Reader::from_str(xml);
    let mut advisories = Vec::new();
    let mut current: Option<PendingUpdate> = None;
    let mut text_target: Option<&'static str> = None;
    let mut saw_updates = false;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                counts.records += 1;
                counts.rejected.push(format!("{label}: XML error at byte {}: {error}", reader.buffer_position()));
                break;
            }
        };
        match event {
            XmlEvent::Eof => {
                if !saw_updates {
                    counts.records += 1;
                    counts.rejected.push(format!("{label}: not a yum updateinfo document (no <updates> element)"));
                }
                if let Some(update) = current.take() {
                    counts.records += 1;
                    counts.rejected.push(format!("{label}: document ends inside update {:?} (truncated?)", update.id));
                }
                break;
            }
            XmlEvent::Start(element) | XmlEvent::Empty(element) => match element.name().as_ref() {
                b"updates" => saw_updates = true,
                b"update" => {
                    current = Some(PendingUpdate {
                        kind: attribute(&element, b"type").unwrap_or_default(),
                        ..PendingUpdate::default()
                    });
                }
                b"id" if current.is_some() => text_target = Some("id"),
                b"title" => text_target = Some("title"),
                b"severity" => text_target = Some("severity"),
                b"updated" | b"issued" => {
                    if let (Some(update), Some(date)) = (current.as_mut(), attribute(&element, b"date")) {
                        if date > update.updated {
                            update.updated = date;
                        }
                    }
                }
                b"reference" => {
                    if let Some(update) = current.as_mut() {
                        update.references.push((
                            attribute(&element, b"id").unwrap_or_default(),
                            attribute(&element, b"type").unwrap_or_default(),
                            attribute(&element, b"href").unwrap_or_default(),
                        ));
                    }
                }
                b"package" => {
                    if let (Some(update), Some(name)) = (current.as_mut(), attribute(&element, b"name")) {
                        let epoch = attribute(&element, b"epoch").unwrap_or_else(|| "0".to_string());
                        let version = attribute(&element, b"version").unwrap_or_default();
                        let release = attribute(&element, b"release").unwrap_or_default();
                        update.packages.insert(name, format!("{epoch}:{version}-{release}"));
                    }
                }
                _ => {}
            },
            XmlEvent::Text(text) => {
                if let (Some(target), Some(update)) = (text_target, current.as_mut()) {
                    let value = text.decode().map(|value| value.into_owned()).unwrap_or_default();
                    match target {
                        "id" => update.id.push_str(value.trim()),
                        "title" => update.title.push_str(value.trim()),
                        _ => update.severity.push_str(value.trim()),
                    }
                }
            }
            XmlEvent::End(element) => {
                text_target = None;
                if element.name().as_ref() == b"update"
                    && let Some(update) = current.take()
                {
                    counts.records += 1;
                    match convert(update, source) {
                        Ok(Some(advisory)) => {
                            counts.imported += 1;
                            advisories.push(advisory);
                        }
                        Ok(None) => counts.rejected.push(format!("{label}: not a security update, skipped")),
                        Err(reason) => counts.rejected.push(format!("{label}: {reason}")),
                    }
                }
            }
            _ => {}
        }
    }
    advisories
}

fn convert(update: PendingUpdate, source: &str) -> Result<Option<Advisory>, String> {
    if update.kind != "security" {
        return Ok(None);
    }
    let ecosystem = ecosystem_of(&update.id).ok_or_else(|| format!("{:?}: not an ALAS id", update.id))?;
    let mut affected = Vec::new();
    for (name, fixed) in update.packages {
        let range = Range::new(Scheme::Rpm, vec![Event::Introduced("0".to_string()), Event::Fixed(fixed)])
            .map_err(|error| format!("{}: {name}: {error}", update.id))?;
        affected.push(Affected {
            ecosystem: ecosystem.to_string(),
            normalized_name: name.clone(),
            name,
            scheme: Scheme::Rpm,
            ranges: vec![range],
            versions: VersionList::default(),
        });
    }
    if affected.is_empty() {
        return Err(format!("{}: no packages", update.id));
    }
    let mut aliases: Vec<String> = update
        .references
        .iter()
        .filter(|(id, kind, _)| kind == "cve" && !id.is_empty())
        .map(|(id, _, _)| id.clone())
        .collect();
    aliases.sort();
    aliases.dedup();
    Ok(Some(Advisory {
        summary: Some(update.title).filter(|title| !title.is_empty()),
        modified: Some(update.updated).filter(|updated| !updated.is_empty()),
        severity: Severity::from_word(&update.severity, "alas"),
        references: update.references.into_iter().map(|(_, _, href)| href).filter(|href| !href.is_empty()).collect(),
        id: update.id,
        aliases,
        affected,
        source: source.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::{SeverityBand, Verdict};

    const XML: &str = r#"<?xml version="1.0" ?>
<updates><update author="a" status="final" type="security" version="1.4"><id>ALAS2-2018-942</id><title>important update for qemu-kvm</title><issued date="2018-02-07 18:49" /><updated date="2018-02-08 21:46" /><severity>important</severity><description>x &amp; y</description><references><reference href="https://cve.example.org/CVE-2017-5715" id="CVE-2017-5715" title="" type="cve" /></references><pkglist><collection short="amazon-linux-2"><name>Amazon Linux 2</name><package arch="x86_64" epoch="10" name="qemu-kvm" release="141.amzn2.5.3" version="1.5.3"><filename>x.rpm</filename></package><package arch="aarch64" epoch="10" name="qemu-kvm" release="141.amzn2.5.3" version="1.5.3"/></collection></pkglist></update>
<update type="bugfix"><id>ALAS2-2018-1</id></update>
<update type="security"><id>BOGUS-1</id><pkglist><collection><package name="x" version="1" release="1"/></collection></pkglist></update></updates>"#;

    #[test]
    fn reads_security_updates() {
        let mut counts = ImportCounts::default();
        let advisories = parse_document(XML, "updateinfo.xml", "alas2", &mut counts);
        assert_eq!((counts.records, counts.imported, counts.rejected.len()), (3, 1, 2));
        let advisory = &advisories[0];
        assert_eq!(advisory.id, "ALAS2-2018-942");
        assert_eq!(advisory.aliases, ["CVE-2017-5715"]);
        assert_eq!(advisory.severity.as_ref().map(|severity| severity.band), Some(SeverityBand::High));
        assert_eq!(advisory.affected.len(), 1);
        let qemu = &advisory.affected[0];
        assert_eq!(qemu.ecosystem, "Amazon Linux:2");
        assert_eq!(
            qemu.evaluate("10:1.5.3-141.amzn2.5.2"),
            Ok(Verdict::Affected { fixed: Some("10:1.5.3-141.amzn2.5.3".to_string()) })
        );
        assert_eq!(qemu.evaluate("10:1.5.3-141.amzn2.5.3"), Ok(Verdict::NotAffected));
    }

    #[test]
    fn truncated_xml_is_a_rejection_not_a_panic() {
        let mut counts = ImportCounts::default();
        let cut = &XML[..XML.len() / 2];
        assert!(parse_document(cut, "cut.xml", "alas", &mut counts).is_empty());
        assert!(counts.rejected[0].contains("truncated"), "{:?}", counts.rejected);
        let mut garbage = ImportCounts::default();
        assert!(parse_document("<updates><update type=\"security\"><<<", "g.xml", "alas", &mut garbage).is_empty());
        assert!(!garbage.rejected.is_empty());
        let mut rss = ImportCounts::default();
        assert!(parse_document("<rss><channel><item/></channel></rss>", "alas.rss.xml", "alas", &mut rss).is_empty());
        assert!(rss.rejected[0].contains("not a yum updateinfo"), "{:?}", rss.rejected);
        assert_eq!(ecosystem_of("ALAS2023-2023-001"), Some("Amazon Linux:2023"));
        assert_eq!(ecosystem_of("ALAS-2018-939"), Some("Amazon Linux:1"));
        assert_eq!(ecosystem_of("RHSA-2018-1"), None);
    }
}
