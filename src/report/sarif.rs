//! SARIF 2.1.0: the format code-scanning dashboards (GitHub code scanning, Azure DevOps,
//! many SIEM importers) read.
//!
//! Each vulnerability id is one rule, carrying `security-severity` (the CVSS score, or a
//! representative score for the severity band) because that is what GitHub ranks by; each
//! finding becomes one result per place the package was found, pointing at the package
//! database or manifest inside the disk. Scan issues are tool execution notifications, so
//! a dashboard can show that a run was partial.

use crate::catalog::Location;
use crate::model::{Finding, Scan, Severity};
use crate::report::common;
use serde_json::{Value, json};

/// Write `scan` as a SARIF 2.1.0 log with one run.
pub fn write(scan: &Scan, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    common::write_json(&document(scan), output)
}

/// SARIF level for a severity band: only critical and high break a build by default.
fn level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

/// The `security-severity` GitHub sorts by: the CVSS score, else the middle of the band.
fn security_severity(finding: &Finding) -> Option<String> {
    if let Some(score) = finding.cvss_score.filter(|score| score.is_finite() && (0.0..=10.0).contains(score)) {
        return Some(format!("{score:.1}"));
    }
    let representative = match finding.severity.as_str() {
        "critical" => "9.5",
        "high" => "8.0",
        "medium" => "5.5",
        "low" => "2.0",
        "none" => "0.0",
        _ => return None,
    };
    Some(representative.to_string())
}

/// An in-image path as a relative URI reference: leading `/` dropped, each segment
/// percent-encoded so hostile names stay a valid URI.
fn artifact_uri(path: &str) -> String {
    path.trim_start_matches('/').split('/').map(crate::catalog::purl_encode).collect::<Vec<_>>().join("/")
}

fn physical_location(location: &Location) -> Value {
    json!({
        "physicalLocation": { "artifactLocation": { "uri": artifact_uri(&location.path) } },
        "logicalLocations": [{ "fullyQualifiedName": location.to_string(), "kind": "resource" }],
    })
}

fn document(scan: &Scan) -> Value {
    let groups = common::findings_by_vulnerability(&scan.findings);
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for (rule_index, (id, findings)) in groups.iter().enumerate() {
        let Some(worst) = common::worst(findings) else {
            continue;
        };
        let (_, url) = common::advisory_source(id);
        let summary = findings.iter().find_map(|finding| finding.summary.as_deref());
        let mut properties = json!({ "tags": ["security", "vulnerability", worst.severity] });
        if let Some(score) = security_severity(worst) {
            properties["security-severity"] = json!(score);
        }
        let packages: Vec<String> =
            findings.iter().map(|finding| format!("{} {}", finding.package, finding.installed_version)).collect();
        rules.push(json!({
            "id": id,
            "shortDescription": { "text": summary.map_or_else(|| id.to_string(), |summary| format!("{id}: {summary}")) },
            "fullDescription": { "text": summary.unwrap_or(id) },
            "helpUri": url,
            "help": { "text": format!("{id} affects {}. See {url}.", packages.join(", ")) },
            "defaultConfiguration": { "level": level(&worst.severity) },
            "properties": properties,
        }));
        for finding in findings {
            let fix = finding
                .fixed_version
                .as_ref()
                .map_or_else(|| "no fixed version is known".to_string(), |fixed| format!("fixed in {fixed}"));
            let message = format!(
                "{} {} is affected by {id} ({}); {fix}.",
                finding.package, finding.installed_version, finding.severity
            );
            let result = |location: Option<&Location>| {
                let place = location.map(ToString::to_string).unwrap_or_default();
                let mut result = json!({
                    "ruleId": id,
                    "ruleIndex": rule_index,
                    "level": level(&finding.severity),
                    "message": { "text": message },
                    // Stable across runs so dashboards track one alert per package and place.
                    "partialFingerprints": { "snapscanFinding/v1": common::content_hash(&[id, &finding.purl, &place]) },
                    "properties": {
                        "purl": finding.purl,
                        "installedVersion": finding.installed_version,
                        "severity": finding.severity,
                    },
                });
                if let Some(location) = location {
                    result["locations"] = json!([physical_location(location)]);
                }
                if let Some(fixed) = &finding.fixed_version {
                    result["properties"]["fixedVersion"] = json!(fixed);
                }
                // SARIF's own way to say "seen and accepted": viewers hide or dismiss it.
                if let Some(suppression) = &finding.suppressed {
                    result["suppressions"] = json!([{
                        "kind": "external",
                        "status": "accepted",
                        "justification": suppression.reason,
                    }]);
                }
                result
            };
            if finding.locations.is_empty() {
                results.push(result(None));
            }
            results.extend(finding.locations.iter().map(|location| result(Some(location))));
        }
    }
    let notifications: Vec<Value> = scan
        .issues
        .iter()
        .map(|issue| {
            let mut notification = json!({
                "level": if issue.severity == Severity::Error { "error" } else { "warning" },
                "message": { "text": common::issue_line(issue) },
            });
            if let Some(location) = &issue.location {
                notification["locations"] = json!([physical_location(location)]);
            }
            notification
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": scan.tool.name,
                "version": scan.tool.version,
                "semanticVersion": scan.tool.version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": common::generated_at().rfc3339(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn written(scan: &Scan) -> Value {
        common::written_json(write, scan)
    }

    #[test]
    fn one_rule_per_vulnerability_with_security_severity() {
        let document = written(&sample::scan());
        let rules = document["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
        let ids: Vec<&str> = rules.iter().filter_map(|rule| rule["id"].as_str()).collect();
        assert_eq!(ids, ["CVE-2024-0001", "CVE-2024-5535", "GHSA-9wx4-h78v-vm56"]);
        assert_eq!(rules[1]["properties"]["security-severity"], "9.1");
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "error");
        assert_eq!(rules[2]["properties"]["security-severity"], "5.6");
        assert!(rules[0]["properties"].get("security-severity").is_none(), "unknown severity has no score");
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "note");
    }

    #[test]
    fn one_result_per_finding_location() {
        let scan = sample::scan();
        let document = written(&scan);
        let results = document["runs"][0]["results"].as_array().expect("results");
        let expected: usize = scan.findings.iter().map(|finding| finding.locations.len().max(1)).sum();
        assert_eq!(results.len(), expected);
        let requests: Vec<&Value> = results.iter().filter(|result| result["ruleId"] == "GHSA-9wx4-h78v-vm56").collect();
        assert_eq!(requests.len(), 2, "requests was found in two places");
        assert_eq!(
            requests[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "opt/app/requirements.txt"
        );
        assert_eq!(requests[1]["ruleIndex"], 2);
        assert_ne!(requests[0]["partialFingerprints"], requests[1]["partialFingerprints"]);
        assert_eq!(
            requests[0]["message"]["text"],
            "requests 2.31.0 is affected by GHSA-9wx4-h78v-vm56 (medium); fixed in 2.32.0."
        );
    }

    #[test]
    fn findings_without_locations_still_give_a_result() {
        let mut scan = sample::scan();
        scan.findings.truncate(1);
        scan.findings[0].locations.clear();
        let document = written(&scan);
        let results = document["runs"][0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 1);
        assert!(results[0].get("locations").is_none());
    }

    #[test]
    fn issues_are_notifications() {
        let document = written(&sample::scan());
        let notifications =
            document["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().expect("notifications");
        assert_eq!(notifications.len(), 2);
        assert_eq!(notifications[1]["level"], "error");
        assert_eq!(
            notifications[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "var/lib/dpkg/status"
        );
    }

    #[test]
    fn severity_mapping_and_uri_encoding() {
        let finding = |severity: &str, score: Option<f64>| Finding {
            severity: severity.into(),
            cvss_score: score,
            ..sample::scan().findings[0].clone()
        };
        assert_eq!(security_severity(&finding("high", None)).as_deref(), Some("8.0"));
        assert_eq!(security_severity(&finding("high", Some(f64::NAN))).as_deref(), Some("8.0"));
        assert_eq!(security_severity(&finding("low", Some(3.24))).as_deref(), Some("3.2"));
        assert_eq!(security_severity(&finding("unknown", None)), None);
        assert_eq!(artifact_uri("/opt/my app/ä#1"), "opt/my%20app/%C3%A4%231");
    }

    #[test]
    fn an_empty_scan_has_an_empty_run() {
        let mut scan = sample::scan();
        scan.findings.clear();
        scan.issues.clear();
        let document = written(&scan);
        assert_eq!(document["runs"][0]["results"], json!([]));
        assert_eq!(document["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }
}
