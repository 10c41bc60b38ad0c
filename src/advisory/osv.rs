//! OSV records (ossf.github.io/osv-schema) in JSON or YAML: one record per document, a
//! JSON array of records, or the `{"vulns": [...]}` answer of the OSV API.
//!
//! The wire structs stay private; [`parse_document`] turns each record into a validated
//! [`Advisory`] or a counted rejection. `schema_version` is optional (PyPA and RustSec
//! omit it) and unknown minor versions are fine. ECOSYSTEM and SEMVER ranges are kept,
//! GIT ranges are counted and skipped, withdrawn records are excluded, `upstream` ids
//! join the aliases (they name the same vulnerability), and Go's
//! `ecosystem_specific.custom_ranges` replace the open SEMVER range they refine.

use super::ecosystem;
use super::{Advisory, Affected, Event, ImportCounts, Range, Severity, VersionList};
use crate::version::Scheme;
use serde::Deserialize;
use serde_json::Value;

/// Longest summary kept (details are not stored).
const SUMMARY_LIMIT: usize = 240;
/// Most references kept per record.
const REFERENCE_LIMIT: usize = 32;
/// Most enumerated versions kept per affected entry (PyPA's longest list is ~1,100).
const VERSIONS_LIMIT: usize = 20_000;

/// A version written as a string, or as a bare YAML/JSON integer (`introduced: 0`).
/// Floats are refused: `1.10` would silently become `1.1`.
#[derive(Debug)]
struct VersionText(String);

impl<'de> Deserialize<'de> for VersionText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(VersionText(text)),
            Value::Number(number) if number.is_u64() || number.is_i64() => Ok(VersionText(number.to_string())),
            other => Err(serde::de::Error::custom(format!("version must be a string, found {other}"))),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawRecord {
    id: Option<String>,
    aliases: Option<Vec<String>>,
    upstream: Option<Vec<String>>,
    summary: Option<String>,
    details: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    severity: Option<Vec<RawSeverity>>,
    affected: Option<Vec<RawAffected>>,
    references: Option<Vec<RawReference>>,
    database_specific: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct RawReference {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    ranges: Option<Vec<RawRange>>,
    versions: Option<Vec<VersionText>>,
    ecosystem_specific: Option<Value>,
    severity: Option<Vec<RawSeverity>>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<RawEvent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    introduced: Option<VersionText>,
    fixed: Option<VersionText>,
    last_affected: Option<VersionText>,
    limit: Option<VersionText>,
}

impl RawEvent {
    fn into_event(self) -> Result<Event, String> {
        match (self.introduced, self.fixed, self.last_affected, self.limit) {
            (Some(version), None, None, None) => Ok(Event::Introduced(version.0)),
            (None, Some(version), None, None) => Ok(Event::Fixed(version.0)),
            (None, None, Some(version), None) => Ok(Event::LastAffected(version.0)),
            (None, None, None, Some(version)) => Ok(Event::Limit(version.0)),
            _ => Err("an event must have exactly one of introduced, fixed, last_affected, limit".to_string()),
        }
    }
}

/// Whether a parsed JSON/YAML document looks like OSV (a record, a list, or an API answer).
pub fn looks_like_osv(document: &Value) -> bool {
    match document {
        Value::Object(object) => object.contains_key("id") || object.get("vulns").is_some_and(Value::is_array),
        Value::Array(items) => items.first().is_some_and(|item| item.get("id").is_some()),
        _ => false,
    }
}

/// Convert every record of a parsed document. `label` names the file for messages.
pub fn parse_document(document: Value, label: &str, source: &str, counts: &mut ImportCounts) -> Vec<Advisory> {
    let records = match document {
        Value::Array(items) => items,
        Value::Object(mut object) if object.get("vulns").is_some_and(Value::is_array) => match object.remove("vulns") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        other => vec![other],
    };
    let mut advisories = Vec::new();
    for record in records {
        counts.records += 1;
        let id_hint = record.get("id").and_then(Value::as_str).unwrap_or("(no id)").to_string();
        let raw: RawRecord = match serde_json::from_value(record) {
            Ok(raw) => raw,
            Err(error) => {
                counts.rejected.push(format!("{label}: {id_hint}: {error}"));
                continue;
            }
        };
        if raw.withdrawn.is_some() {
            counts.withdrawn += 1;
            continue;
        }
        match convert(raw, label, source, counts) {
            Ok(advisory) => {
                counts.imported += 1;
                advisories.push(advisory);
            }
            Err(reason) => counts.rejected.push(format!("{label}: {id_hint}: {reason}")),
        }
    }
    advisories
}

fn convert(raw: RawRecord, label: &str, source: &str, counts: &mut ImportCounts) -> Result<Advisory, String> {
    let id = raw.id.filter(|id| !id.trim().is_empty()).ok_or("record has no id")?;
    if id.len() > 200 {
        return Err("id longer than 200 characters".to_string());
    }
    let mut aliases: Vec<String> = raw
        .aliases
        .unwrap_or_default()
        .into_iter()
        .chain(raw.upstream.unwrap_or_default())
        .filter(|alias| *alias != id)
        .collect();
    aliases.sort();
    aliases.dedup();
    let mut affected = Vec::new();
    let mut affected_severity = None;
    for (index, entry) in raw.affected.unwrap_or_default().into_iter().enumerate() {
        if affected_severity.is_none() {
            affected_severity = entry.severity.as_deref().and_then(pick_severity);
        }
        match convert_affected(entry, counts) {
            Ok(Some(entry)) => affected.push(entry),
            Ok(None) => {}
            Err(reason) => counts.dropped.push(format!("{label}: {id}: affected[{index}]: {reason}")),
        }
    }
    if affected.is_empty() {
        return Err("no affected package with a usable range or version list".to_string());
    }
    let ghsa_word =
        raw.database_specific.as_ref().and_then(|specific| specific.get("severity")).and_then(Value::as_str);
    let severity = raw
        .severity
        .as_deref()
        .and_then(pick_severity)
        .or(affected_severity)
        .or_else(|| ghsa_word.and_then(|word| Severity::from_word(word, "ghsa")));
    let summary = raw
        .summary
        .filter(|summary| !summary.trim().is_empty())
        .or_else(|| {
            raw.details
                .as_deref()
                .and_then(|details| details.lines().find(|line| !line.trim().is_empty()))
                .map(str::to_string)
        })
        .map(|text| truncate(text.trim(), SUMMARY_LIMIT));
    let references = raw
        .references
        .unwrap_or_default()
        .into_iter()
        .filter_map(|reference| reference.url)
        .take(REFERENCE_LIMIT)
        .collect();
    Ok(Advisory {
        id,
        aliases,
        summary,
        modified: raw.modified,
        severity,
        references,
        affected,
        source: source.to_string(),
    })
}

/// The best severity of a list: a CVSS v3 score, else v4, else a known word.
fn pick_severity(severities: &[RawSeverity]) -> Option<Severity> {
    let by_kind = |kind: &str| {
        severities
            .iter()
            .filter(|severity| severity.kind == kind)
            .find_map(|severity| Severity::from_vector(&severity.score))
    };
    by_kind("CVSS_V3").or_else(|| by_kind("CVSS_V4")).or_else(|| {
        severities.iter().find_map(|severity| Severity::from_word(&severity.score, &severity.kind.to_ascii_lowercase()))
    })
}

/// Convert one affected entry; `Ok(None)` when it only had GIT ranges (counted).
fn convert_affected(entry: RawAffected, counts: &mut ImportCounts) -> Result<Option<Affected>, String> {
    let package = entry.package.ok_or("no package")?;
    let scheme =
        ecosystem::scheme(&package.ecosystem).ok_or_else(|| format!("unknown ecosystem {:?}", package.ecosystem))?;
    if package.name.trim().is_empty() {
        return Err("empty package name".to_string());
    }
    let mut ranges = Vec::new();
    let mut problems = Vec::new();
    let raw_ranges = entry.ranges.unwrap_or_default();
    let had_ranges = !raw_ranges.is_empty();
    for raw_range in raw_ranges {
        let range_scheme = match raw_range.kind.as_str() {
            "GIT" => {
                counts.git_ranges_skipped += 1;
                continue;
            }
            "ECOSYSTEM" => scheme,
            "SEMVER" if scheme == Scheme::Go => Scheme::Go,
            "SEMVER" => Scheme::Semver,
            other => {
                problems.push(format!("unknown range type {other:?}"));
                continue;
            }
        };
        match build_range(range_scheme, raw_range.events) {
            Ok(range) => ranges.push(range),
            Err(reason) => problems.push(reason),
        }
    }
    if scheme == Scheme::Go
        && let Some(custom) = entry.ecosystem_specific.as_ref().and_then(|specific| specific.get("custom_ranges"))
    {
        match serde_json::from_value::<Vec<RawRange>>(custom.clone()) {
            Ok(custom_ranges) => {
                let mut replacement = Vec::new();
                for raw_range in custom_ranges {
                    match build_range(Scheme::Go, raw_range.events) {
                        Ok(range) => replacement.push(range),
                        Err(reason) => problems.push(format!("custom range: {reason}")),
                    }
                }
                if !replacement.is_empty() {
                    ranges = replacement;
                }
            }
            Err(error) => problems.push(format!("custom_ranges: {error}")),
        }
    }
    let versions =
        VersionList::new(entry.versions.unwrap_or_default().into_iter().take(VERSIONS_LIMIT).map(|version| version.0));
    if ranges.is_empty() && versions.is_empty() {
        if problems.is_empty() && had_ranges {
            // Only GIT ranges: counted above, nothing to match on.
            return Ok(None);
        }
        return Err(if problems.is_empty() { "no ranges or versions".to_string() } else { problems.join("; ") });
    }
    if !problems.is_empty() {
        counts.dropped.push(format!("{}/{}: {}", package.ecosystem, package.name, problems.join("; ")));
    }
    Ok(Some(Affected {
        normalized_name: ecosystem::normalize_name(&package.ecosystem, &package.name),
        ecosystem: package.ecosystem,
        name: package.name,
        scheme,
        ranges,
        versions,
    }))
}

fn build_range(scheme: Scheme, events: Vec<RawEvent>) -> Result<Range, String> {
    let events = events.into_iter().map(RawEvent::into_event).collect::<Result<Vec<_>, _>>()?;
    if !events.iter().any(|event| matches!(event, Event::Introduced(_))) {
        return Err("range has no introduced event".to_string());
    }
    Range::new(scheme, events).map_err(|error| error.to_string())
}

/// Cut `text` to at most `limit` bytes at a character boundary.
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::{SeverityBand, Verdict};

    fn parse(text: &str) -> (Vec<Advisory>, ImportCounts) {
        let mut counts = ImportCounts::default();
        let document: Value = serde_json::from_str(text).unwrap();
        (parse_document(document, "test.json", "test", &mut counts), counts)
    }

    const GHSA: &str = r#"{"schema_version":"1.4.0","id":"GHSA-29mw-wpgm-hmr9","aliases":["CVE-2020-28500"],
      "summary":"ReDoS in lodash","modified":"2024-01-01T00:00:00Z",
      "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}],
      "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
        "ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"4.17.21"},{"introduced":"4.0.0"}]}]},
        {"package":{"ecosystem":"npm","name":"lodash.trim"},
        "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"4.5.1"}]}]}],
      "database_specific":{"severity":"MODERATE"}}"#;

    #[test]
    fn reads_a_valid_record() {
        let (advisories, counts) = parse(GHSA);
        assert_eq!((counts.records, counts.imported), (1, 1));
        let advisory = &advisories[0];
        assert_eq!(advisory.aliases, ["CVE-2020-28500"]);
        let severity = advisory.severity.as_ref().unwrap();
        assert_eq!(
            (severity.band, severity.score, severity.source.as_str()),
            (SeverityBand::Medium, Some(5.3), "cvss_v3")
        );
        let lodash = &advisory.affected[0];
        assert_eq!(lodash.ranges[0].events[0], Event::Introduced("4.0.0".to_string()));
        assert_eq!(lodash.evaluate("4.17.20"), Ok(Verdict::Affected { fixed: Some("4.17.21".to_string()) }));
        assert_eq!(lodash.evaluate("3.10.1"), Ok(Verdict::NotAffected));
        assert_eq!(advisory.affected[1].evaluate("4.5.1"), Ok(Verdict::Affected { fixed: None }));
    }

    #[test]
    fn severity_prefers_cvss_then_the_sources_word() {
        let record = |severity: &str| {
            format!(
                r#"{{"id":"UBUNTU-CVE-1","upstream":["CVE-1"],"severity":{severity},"affected":[{{"package":{{"ecosystem":"Ubuntu:22.04:LTS","name":"curl"}},"versions":["7.81.0-1ubuntu1.4"]}}]}}"#
            )
        };
        let (advisories, _) = parse(&record(r#"[{"type":"Ubuntu","score":"medium"}]"#));
        let severity = advisories[0].severity.clone().unwrap();
        assert_eq!((severity.band, severity.source.as_str(), severity.score), (SeverityBand::Medium, "ubuntu", None));
        assert_eq!(advisories[0].aliases, ["CVE-1"]);
        let (advisories, _) = parse(&record(
            r#"[{"type":"Ubuntu","score":"low"},{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]"#,
        ));
        assert_eq!(advisories[0].severity.as_ref().map(|severity| severity.band), Some(SeverityBand::Critical));
        let (advisories, _) = parse(&record(r#"[{"type":"Ubuntu","score":"untriaged"}]"#));
        assert!(advisories[0].severity.is_none());
        assert_eq!(advisories[0].affected[0].evaluate("7.81.0-1ubuntu1.4"), Ok(Verdict::Affected { fixed: None }));
        assert_eq!(advisories[0].affected[0].evaluate("7.81.0-1ubuntu1.5"), Ok(Verdict::NotAffected));
    }

    #[test]
    fn api_answers_withdrawn_and_git_only() {
        let text = format!(
            r#"{{"vulns":[{GHSA},{{"id":"PYSEC-1","withdrawn":"2024-01-01T00:00:00Z","affected":[]}},
            {{"id":"PYSEC-2","affected":[{{"package":{{"ecosystem":"PyPI","name":"x"}},"ranges":[{{"type":"GIT","repo":"r","events":[{{"introduced":"0"}},{{"fixed":"abc"}}]}}]}}]}}]}}"#
        );
        let (advisories, counts) = parse(&text);
        assert_eq!(advisories.len(), 1);
        assert_eq!((counts.records, counts.imported, counts.withdrawn, counts.git_ranges_skipped), (3, 1, 1, 1));
        assert_eq!(counts.rejected.len(), 1, "{:?}", counts.rejected);
    }

    #[test]
    fn bad_records_are_counted_with_reasons() {
        let text = r#"[
          {"affected":[]},
          {"id":"A","affected":[{"package":{"ecosystem":"Nowhere","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]},
          {"id":"B","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"not.a.version"}]}]}]},
          {"id":"C","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]},
          {"id":"D","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"WEIRD","events":[{"introduced":"0"}]}]}]},
          {"id":"E","affected":"garbage"}
        ]"#;
        let (advisories, counts) = parse(text);
        assert!(advisories.is_empty());
        assert_eq!(counts.records, 6);
        assert_eq!(counts.rejected.len(), 6, "{:#?}", counts.rejected);
        let all = counts.rejected.join("\n") + &counts.dropped.join("\n");
        for reason in ["no id", "unknown ecosystem", "not.a.version", "exactly one", "unknown range type", "E:"] {
            assert!(all.contains(reason), "missing {reason:?} in {all}");
        }
    }

    #[test]
    fn go_custom_ranges_replace_the_open_semver_range() {
        let text = r#"{"id":"GO-2023-2153","affected":[{"package":{"ecosystem":"Go","name":"google.golang.org/grpc"},
          "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],
          "ecosystem_specific":{"custom_ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.56.3"},{"introduced":"1.57.0"},{"fixed":"1.57.1"}]}]}}]}"#;
        let (advisories, _) = parse(text);
        let grpc = &advisories[0].affected[0];
        assert_eq!(grpc.evaluate("v1.56.2"), Ok(Verdict::Affected { fixed: Some("1.56.3".to_string()) }));
        assert_eq!(grpc.evaluate("v1.56.3"), Ok(Verdict::NotAffected));
        assert_eq!(grpc.evaluate("v1.58.0"), Ok(Verdict::NotAffected));
    }

    #[test]
    fn yaml_records_with_integer_versions() {
        let yaml = "id: PYSEC-2022-230\naliases: [CVE-2022-2309]\naffected:\n- package: {name: lxml, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 4.9.1\n  versions: ['4.9.0', 3]\n";
        let document: Value = crate::catalog::language::parse_yaml_documents::<Value>(yaml).unwrap().remove(0);
        let mut counts = ImportCounts::default();
        let advisories = parse_document(document, "x.yaml", "pypa", &mut counts);
        assert_eq!(advisories[0].affected[0].versions.iter().collect::<Vec<_>>(), ["4.9.0", "3"]);
        let float: Value = crate::catalog::language::parse_yaml_documents::<Value>(
            "id: X\naffected:\n- package: {name: a, ecosystem: PyPI}\n  versions: [1.10]\n",
        )
        .unwrap()
        .remove(0);
        assert!(parse_document(float, "y.yaml", "pypa", &mut counts).is_empty());
        assert!(counts.rejected.last().unwrap().contains("must be a string"));
    }
}
