//! AWS Security Finding Format (ASFF): a JSON array of findings ready for
//! `aws securityhub batch-import-findings --findings file://report.json` (at most 100 per
//! call, so split larger arrays).
//!
//! One record per finding per scanned target, with the target (instance, volume,
//! snapshot, AMI or image file) as the resource, a severity label, and the vulnerability
//! block Security Hub shows for Inspector-style findings. Record ids are hashes of what
//! they are about, so a re-scan updates the same Security Hub finding instead of adding
//! one. The account and region come from [`AwsContext`]; Security Hub rejects records
//! whose account is not the caller's.

use crate::model::{Finding, Scan, Target};
use crate::report::common;
use serde_json::{Value, json};

/// Account placeholder used when none is configured; Security Hub will refuse it.
pub const PLACEHOLDER_ACCOUNT: &str = "000000000000";
/// Region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";
/// ASFF's documented limit on `Title`.
const TITLE_LIMIT: usize = 256;
/// ASFF's documented limit on `Description`.
const DESCRIPTION_LIMIT: usize = 1024;

/// The AWS account and region records are filed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsContext {
    /// 12-digit account id.
    pub account_id: String,
    /// Region code, e.g. `eu-west-1`.
    pub region: String,
}

impl AwsContext {
    /// From `SNAPSCAN_AWS_ACCOUNT_ID` and `AWS_REGION`/`AWS_DEFAULT_REGION`, falling back to
    /// [`PLACEHOLDER_ACCOUNT`] and [`DEFAULT_REGION`] (with a warning for the account).
    pub fn from_environment() -> Self {
        let account = std::env::var("SNAPSCAN_AWS_ACCOUNT_ID").ok().filter(|account| is_account_id(account));
        if account.is_none() {
            tracing::warn!(
                "ASFF: SNAPSCAN_AWS_ACCOUNT_ID is unset or not 12 digits; writing placeholder account {PLACEHOLDER_ACCOUNT}"
            );
        }
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|region| is_region(region)))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        Self { account_id: account.unwrap_or_else(|| PLACEHOLDER_ACCOUNT.to_string()), region }
    }

    /// The ARN partition the region belongs to.
    fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn is_region(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// Write `scan` as an ASFF findings array for the account and region in the environment.
pub fn write(scan: &Scan, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    write_for(scan, &AwsContext::from_environment(), output)
}

/// Write `scan` as an ASFF findings array for the given account and region.
pub fn write_for(scan: &Scan, context: &AwsContext, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    common::write_json(&Value::Array(records(scan, context)), output)
}

/// At most `limit` characters, cut on a character boundary with `…` when cut.
fn bounded(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Security Hub's severity label for a band.
fn label(severity: &str) -> &'static str {
    match severity {
        "critical" => "CRITICAL",
        "high" => "HIGH",
        "medium" => "MEDIUM",
        "low" => "LOW",
        _ => "INFORMATIONAL",
    }
}

/// The resources a target stands for: (type, id).
fn target_resources(target: &Target, context: &AwsContext) -> Vec<(&'static str, String)> {
    let (partition, region, account) = (context.partition(), &context.region, &context.account_id);
    let mut resources = match target.kind.as_str() {
        "instance" => {
            vec![("AwsEc2Instance", format!("arn:{partition}:ec2:{region}:{account}:instance/{}", target.name))]
        }
        // Snapshot and image ARNs carry no account.
        "snapshot" => vec![("Other", format!("arn:{partition}:ec2:{region}::snapshot/{}", target.name))],
        "ami" => vec![("Other", format!("arn:{partition}:ec2:{region}::image/{}", target.name))],
        _ => vec![("Other", target.name.clone())],
    };
    for volume in &target.volumes {
        if volume.id.starts_with("vol-") {
            resources.push(("AwsEc2Volume", format!("arn:{partition}:ec2:{region}:{account}:volume/{}", volume.id)));
        }
    }
    resources
}

/// The targets a finding was seen on (by its locations' volumes); all targets' first when
/// none matches, so no finding is dropped.
fn targets_of<'scan>(scan: &'scan Scan, finding: &Finding) -> Vec<&'scan Target> {
    let matching: Vec<&Target> = scan
        .targets
        .iter()
        .filter(|target| {
            finding.locations.iter().any(|location| target.volumes.iter().any(|volume| volume.id == location.volume))
        })
        .collect();
    if matching.is_empty() { scan.targets.first().into_iter().collect() } else { matching }
}

fn records(scan: &Scan, context: &AwsContext) -> Vec<Value> {
    let timestamp = common::generated_at().rfc3339();
    let (partition, region, account) = (context.partition(), &context.region, &context.account_id);
    let product = format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default");
    let index = common::PackageIndex::new(scan);
    let mut records = Vec::new();
    for finding in &scan.findings {
        let package = index.package_of(finding).map(|(_, package)| package);
        let targets = targets_of(scan, finding);
        // A finding with no target at all (an empty scan model) still names its package.
        let resource_sets: Vec<(String, Vec<(&str, String)>)> = if targets.is_empty() {
            vec![(String::new(), vec![("Other", finding.purl.clone())])]
        } else {
            targets.iter().map(|target| (target.name.clone(), target_resources(target, context))).collect()
        };
        for (target_name, resources) in resource_sets {
            let (publisher, url) = common::advisory_source(&finding.id);
            let title = format!("{} in {} {}", finding.id, finding.package, finding.installed_version);
            let mut vulnerable = json!({ "Name": finding.package, "Version": finding.installed_version });
            if let Some(package) = package {
                vulnerable["PackageManager"] = json!(package.found_by);
                if let Some(arch) = &package.arch {
                    vulnerable["Architecture"] = json!(arch);
                }
            }
            if let Some(location) = finding.locations.first() {
                vulnerable["FilePath"] = json!(location.path);
            }
            if let Some(fixed) = &finding.fixed_version {
                vulnerable["FixedInVersion"] = json!(fixed);
                vulnerable["Remediation"] = json!(format!("upgrade {} to {fixed} or later", finding.package));
            }
            // Security Hub rejects blank strings (pattern `.*\S.*`): drop any.
            if let Some(fields) = vulnerable.as_object_mut() {
                fields.retain(|_, value| value.as_str().is_none_or(|text| !text.trim().is_empty()));
            }
            let mut vulnerability = json!({
                "Id": finding.id,
                "VulnerablePackages": [vulnerable],
                "Vendor": { "Name": publisher, "Url": url },
                "ReferenceUrls": [url],
                "FixAvailable": if finding.fixed_version.is_some() { "YES" } else { "NO" },
            });
            if let Some(score) = finding.cvss_score.filter(|score| score.is_finite()) {
                let mut cvss = json!({ "BaseScore": score, "Source": publisher });
                if let Some(vector) = finding.cvss_vector.as_deref().filter(|vector| !vector.trim().is_empty()) {
                    cvss["BaseVector"] = json!(vector);
                    if let Some(version) = common::cvss_version(vector) {
                        cvss["Version"] = json!(version);
                    }
                }
                vulnerability["Cvss"] = json!([cvss]);
            }
            if !finding.aliases.is_empty() {
                vulnerability["RelatedVulnerabilities"] = json!(finding.aliases);
            }
            let mut record = json!({
                "SchemaVersion": "2018-10-08",
                "Id": format!("snapscan/{}", common::content_hash(&[&target_name, &finding.id, &finding.purl]).get(..40).unwrap_or_default()),
                "ProductArn": product,
                "GeneratorId": format!("snapscan/{}", finding.ecosystem),
                "AwsAccountId": account,
                "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
                "CreatedAt": timestamp,
                "UpdatedAt": timestamp,
                "Severity": { "Label": label(&finding.severity), "Original": finding.severity },
                "Title": bounded(&title, TITLE_LIMIT),
                "Description": bounded(finding.summary.as_deref().filter(|text| !text.trim().is_empty()).unwrap_or(&title), DESCRIPTION_LIMIT),
                "SourceUrl": url,
                "ProductFields": { "snapscan/purl": bounded(&finding.purl, 2048), "snapscan/target": bounded(&target_name, 2048) },
                "Resources": resources.iter().map(|(kind, id)| json!({ "Type": kind, "Id": id, "Partition": partition, "Region": region })).collect::<Vec<_>>(),
                "Vulnerabilities": [vulnerability],
                "RecordState": "ACTIVE",
            });
            // Security Hub's own state for an accepted finding; the reason goes with it.
            if let Some(suppression) = &finding.suppressed {
                record["Workflow"] = json!({ "Status": "SUPPRESSED" });
                record["ProductFields"]["snapscan/suppressed"] = json!(bounded(&suppression.reason, 2048));
            }
            if let Some(fixed) = &finding.fixed_version {
                record["Remediation"] = json!({ "Recommendation": { "Text": bounded(&format!("Upgrade {} to {fixed} or later.", finding.package), 512) } });
            }
            records.push(record);
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn context() -> AwsContext {
        AwsContext { account_id: "123456789012".into(), region: "eu-west-1".into() }
    }

    fn written(scan: &Scan) -> Vec<Value> {
        let document = common::written_json(|scan, output| write_for(scan, &context(), output), scan);
        document.as_array().cloned().expect("an array")
    }

    #[test]
    fn one_record_per_finding_with_labels_and_package() {
        let scan = sample::scan();
        let records = written(&scan);
        assert_eq!(records.len(), scan.findings.len());
        let openssl = &records[0];
        assert_eq!(openssl["ProductArn"], "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default");
        assert_eq!(openssl["Severity"]["Label"], "CRITICAL");
        assert_eq!(
            openssl["Resources"][0],
            json!({ "Type": "Other", "Id": "disk.img", "Partition": "aws", "Region": "eu-west-1" })
        );
        let package = &openssl["Vulnerabilities"][0]["VulnerablePackages"][0];
        assert_eq!(package["Name"], "openssl");
        assert_eq!(package["FixedInVersion"], "3.0.15-1~deb12u1");
        assert_eq!(package["PackageManager"], "dpkg");
        assert_eq!(openssl["Vulnerabilities"][0]["FixAvailable"], "YES");
        assert_eq!(records[2]["Severity"]["Label"], "INFORMATIONAL");
        assert_eq!(records[2]["Vulnerabilities"][0]["FixAvailable"], "NO");
        assert_eq!(records[3]["Vulnerabilities"][0]["RelatedVulnerabilities"], json!(["CVE-2024-35195"]));
        let ids: std::collections::BTreeSet<&str> = records.iter().filter_map(|record| record["Id"].as_str()).collect();
        assert_eq!(ids.len(), records.len(), "record ids are distinct");
        assert_eq!(written(&scan)[0]["Id"], openssl["Id"], "and stable");
    }

    #[test]
    fn cvss_carries_version_vector_and_source() {
        let mut scan = sample::scan();
        let vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N";
        scan.findings[0].cvss_vector = Some(vector.to_string());
        let records = written(&scan);
        assert_eq!(
            records[0]["Vulnerabilities"][0]["Cvss"],
            json!([{ "Version": "3.1", "BaseScore": 9.1, "BaseVector": vector, "Source": "NVD" }])
        );
        assert!(records[2]["Vulnerabilities"][0].get("Cvss").is_none(), "no score, no Cvss block");
    }

    #[test]
    fn instances_and_volumes_become_arns() {
        let mut scan = sample::scan();
        scan.targets[0].kind = "instance".into();
        scan.targets[0].name = "i-0abc".into();
        scan.targets[0].volumes[0].id = "vol-0123".into();
        for finding in &mut scan.findings {
            for location in &mut finding.locations {
                location.volume = "vol-0123".into();
            }
        }
        let records = written(&scan);
        assert_eq!(records[0]["Resources"][0]["Type"], "AwsEc2Instance");
        assert_eq!(records[0]["Resources"][0]["Id"], "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc");
        assert_eq!(records[0]["Resources"][1]["Id"], "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0123");
        let china = AwsContext { account_id: "123456789012".into(), region: "cn-north-1".into() };
        assert_eq!(china.partition(), "aws-cn");
    }

    #[test]
    fn long_text_is_cut_to_asff_limits_and_blank_fields_dropped() {
        let mut scan = sample::scan();
        scan.findings[0].summary = Some("x".repeat(5000));
        scan.findings[0].package = "p".repeat(400);
        scan.findings[0].installed_version = " ".into();
        let records = written(&scan);
        assert_eq!(records[0]["Description"].as_str().map(|text| text.chars().count()), Some(DESCRIPTION_LIMIT));
        assert_eq!(records[0]["Title"].as_str().map(|text| text.chars().count()), Some(TITLE_LIMIT));
        assert!(records[0]["Vulnerabilities"][0]["VulnerablePackages"][0].get("Version").is_none());
    }

    #[test]
    fn account_and_region_are_checked() {
        assert!(is_account_id("123456789012"));
        for bad in ["", "12345678901", "1234567890123", "12345678901a"] {
            assert!(!is_account_id(bad), "{bad}");
        }
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("EU west"));
        assert!(!is_region(""));
    }

    #[test]
    fn no_findings_is_an_empty_array() {
        let mut scan = sample::scan();
        scan.findings.clear();
        assert_eq!(written(&scan), Vec::<Value>::new());
    }
}
