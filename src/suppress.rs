//! Suppression files (`--ignore-file`, default `.snapscan-ignore.yaml` in the current
//! directory when present): rules that hide accepted findings from gating and from the
//! human-facing outputs while keeping them, with the rule that hid them, in JSON.
//!
//! ```yaml
//! rules:
//!   - id: CVE-2024-6387          # advisory id or any alias, exact
//!     package: "openssh-*"       # glob on the package name or purl
//!     path: "/var/lib/dpkg/*"    # glob on a location's path inside the filesystem
//!     reason: not reachable, sshd is disabled   # required
//!     expires: 2027-01-31        # optional; the rule applies through this day (UTC)
//! ```
//!
//! A rule matches a finding when every field it gives matches; a rule must give at least
//! one of `id`, `package`, `path` (an empty rule would hide everything). In globs `*` is
//! any run of characters (`/` included) and `?` one character; everything else is literal.
//! An expired rule stops applying and is reported. A bad file is an error naming the line
//! and column, never a silently empty rule set.

use crate::model::{Finding, Issue, Severity, Suppression};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default suppression file, looked for in the current directory.
pub const DEFAULT_FILE: &str = ".snapscan-ignore.yaml";

/// Largest suppression file read; real ones are a few KiB.
const FILE_LIMIT: u64 = 1024 * 1024;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: Vec<RuleText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    id: Option<String>,
    package: Option<String>,
    path: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
}

/// One validated rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Advisory id or alias, compared exactly.
    pub id: Option<String>,
    /// Glob on the package name or purl.
    pub package: Option<String>,
    /// Glob on a location path.
    pub path: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Last day (`YYYY-MM-DD`, UTC) the rule applies.
    pub expires: Option<String>,
}

impl Rule {
    /// Whether the rule hides `finding` (expiry aside).
    pub fn matches(&self, finding: &Finding) -> bool {
        let id_matches = self.id.as_deref().is_none_or(|id| {
            finding.id == id
                || finding.aliases.iter().any(|alias| alias == id)
                || finding.advisories.iter().any(|record| record == id)
        });
        let package_matches = self
            .package
            .as_deref()
            .is_none_or(|pattern| glob_matches(pattern, &finding.package) || glob_matches(pattern, &finding.purl));
        let path_matches = self
            .path
            .as_deref()
            .is_none_or(|pattern| finding.locations.iter().any(|location| glob_matches(pattern, &location.path)));
        id_matches && package_matches && path_matches
    }

    /// Whether the rule has expired on `today` (`YYYY-MM-DD`): it applies through its day.
    pub fn expired_on(&self, today: &str) -> bool {
        // Both are validated zero-padded ISO dates, so text order is date order.
        self.expires.as_deref().is_some_and(|expires| expires < today)
    }

    /// How messages name the rule: its position (1-based, as people count) and selectors.
    fn describe(&self, index: usize) -> String {
        let selectors: Vec<String> = [("id", &self.id), ("package", &self.package), ("path", &self.path)]
            .into_iter()
            .filter_map(|(field, value)| value.as_ref().map(|value| format!("{field} {value}")))
            .collect();
        format!("rule {} ({})", index + 1, selectors.join(", "))
    }
}

/// The rules of one suppression file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressions {
    /// The file they came from.
    pub file: PathBuf,
    /// Rules in file order (a finding is attributed to the first that matches).
    pub rules: Vec<Rule>,
}

/// Read the suppression file for a scan: `given` when set (it must exist), else the
/// default file in the current directory when there is one.
pub fn load_for_scan(given: Option<&Path>) -> anyhow::Result<Option<Suppressions>> {
    match given {
        Some(path) => Ok(Some(load(path)?)),
        None => {
            let default = Path::new(DEFAULT_FILE);
            if default.is_file() { Ok(Some(load(default)?)) } else { Ok(None) }
        }
    }
}

/// Read and validate a suppression file.
pub fn load(path: &Path) -> anyhow::Result<Suppressions> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|error| anyhow::anyhow!("suppression file {}: {error}", path.display()))?;
    let mut text = String::new();
    file.take(FILE_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|error| anyhow::anyhow!("suppression file {}: {error}", path.display()))?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > FILE_LIMIT {
        anyhow::bail!("suppression file {}: larger than {FILE_LIMIT} bytes", path.display());
    }
    let rules = parse(&text).map_err(|error| anyhow::anyhow!("suppression file {}: {error}", path.display()))?;
    Ok(Suppressions { file: path.to_path_buf(), rules })
}

/// Parse and validate the text of a suppression file.
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    // An empty file (or one of comments only) is an empty rule set.
    let mut documents = crate::catalog::language::parse_yaml_documents::<File>(text)?;
    let file = match documents.len() {
        0 => return Ok(Vec::new()),
        1 => documents.remove(0),
        count => return Err(format!("{count} YAML documents, expected one")),
    };
    file.rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let number = index + 1;
            let non_empty = |field: Option<String>, name: &str| match field {
                Some(value) if value.trim().is_empty() => Err(format!("rule {number}: `{name}` is empty")),
                other => Ok(other),
            };
            let id = non_empty(rule.id, "id")?;
            let package = non_empty(rule.package, "package")?;
            let path = non_empty(rule.path, "path")?;
            if id.is_none() && package.is_none() && path.is_none() {
                return Err(format!("rule {number}: give at least one of `id`, `package`, `path`"));
            }
            let reason =
                non_empty(rule.reason, "reason")?.ok_or_else(|| format!("rule {number}: `reason` is required"))?;
            let expires = rule.expires.map(|date| {
                if is_date(&date) {
                    Ok(date)
                } else {
                    Err(format!("rule {number}: `expires` {date:?} is not a date YYYY-MM-DD"))
                }
            });
            Ok(Rule { id, package, path, reason, expires: expires.transpose()? })
        })
        .collect()
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes().all(|byte| byte.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// Mark the findings the rules hide (the first matching live rule wins) and return one
/// warning issue per expired rule.
pub fn apply(findings: &mut [Finding], suppressions: &Suppressions, today: &str) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (index, rule) in suppressions.rules.iter().enumerate() {
        if rule.expired_on(today) {
            issues.push(Issue {
                severity: Severity::Warning,
                location: None,
                message: format!(
                    "suppression {} in {} expired on {}: it no longer applies",
                    rule.describe(index),
                    suppressions.file.display(),
                    rule.expires.as_deref().unwrap_or_default()
                ),
            });
        }
    }
    for finding in findings.iter_mut() {
        finding.suppressed = suppressions
            .rules
            .iter()
            .enumerate()
            .find(|(_, rule)| !rule.expired_on(today) && rule.matches(finding))
            .map(|(index, rule)| Suppression {
                rule: index,
                reason: rule.reason.clone(),
                expires: rule.expires.clone(),
            });
    }
    issues
}

/// Whether `pattern` (`*` any run, `?` one character, the rest literal) matches all of
/// `text`. Iterative with one backtrack point, so time stays O(pattern × text).
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut pattern_at, mut text_at) = (0, 0);
    // After a `*`: where the pattern resumes and the text position it was tried from.
    let mut backtrack: Option<(usize, usize)> = None;
    while text_at < text.len() {
        match pattern.get(pattern_at) {
            Some('*') => {
                pattern_at += 1;
                backtrack = Some((pattern_at, text_at));
            }
            Some(&expected) if expected == '?' || expected == text[text_at] => {
                pattern_at += 1;
                text_at += 1;
            }
            _ => match backtrack {
                // Let the last `*` swallow one more character and retry.
                Some((resume, tried)) => {
                    pattern_at = resume;
                    text_at = tried + 1;
                    backtrack = Some((resume, tried + 1));
                }
                None => return false,
            },
        }
    }
    pattern[pattern_at..].iter().all(|character| *character == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Location;

    fn finding(id: &str, aliases: &[&str], package: &str, path: &str) -> Finding {
        let mut finding = crate::report::sample::scan().findings.remove(0);
        finding.id = id.to_string();
        finding.aliases = aliases.iter().map(|alias| alias.to_string()).collect();
        finding.advisories = vec![format!("DEBIAN-{id}")];
        finding.package = package.to_string();
        finding.purl = format!("pkg:deb/debian/{package}@1.0?distro=debian-12");
        finding.locations =
            vec![Location { volume: "disk.img".to_string(), partition: Some(1), path: path.to_string() }];
        finding.suppressed = None;
        finding
    }

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("openssh-*", "openssh-server", true),
            ("openssh-*", "openssh", false),
            ("*ssl*", "libssl3", true),
            ("lib?sl3", "libssl3", true),
            ("lib?sl3", "libsl3", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("/usr/lib/*", "/usr/lib/python3/dist-packages/x", true),
            ("pkg:deb/*", "pkg:deb/debian/curl@1", true),
            ("**", "anything/at/all", true),
        ] {
            assert_eq!(glob_matches(pattern, text), expected, "{pattern} vs {text}");
        }
        // Pathological patterns stay fast (no exponential backtracking).
        let text = "a".repeat(2000);
        assert!(!glob_matches(&format!("{}b", "*a".repeat(50)), &text));
    }

    #[test]
    fn rules_match_when_every_given_field_matches() {
        let rules = parse(
            "rules:\n  - id: CVE-1\n    reason: r0\n  - package: 'openssh-*'\n    path: /var/lib/dpkg/*\n    reason: r1\n  - id: GHSA-x\n    package: pkg:pypi/*\n    reason: r2\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 3);
        let by_id = finding("CVE-1", &[], "curl", "/var/lib/dpkg/status");
        let by_alias = finding("CVE-2", &["CVE-1"], "curl", "/var/lib/dpkg/status");
        let by_record = finding("CVE-3", &[], "curl", "/var/lib/dpkg/status");
        assert!(rules[0].matches(&by_id) && rules[0].matches(&by_alias));
        assert!(!rules[0].matches(&by_record));
        let record_rule = Rule { id: Some("DEBIAN-CVE-3".to_string()), ..rules[0].clone() };
        assert!(record_rule.matches(&by_record));
        // Prefixes are not ids: matching is exact.
        let prefix = Rule { id: Some("CVE-".to_string()), ..rules[0].clone() };
        assert!(!prefix.matches(&by_id));
        assert!(rules[1].matches(&finding("CVE-9", &[], "openssh-server", "/var/lib/dpkg/status")));
        assert!(!rules[1].matches(&finding("CVE-9", &[], "openssh-server", "/opt/status")));
        assert!(!rules[1].matches(&finding("CVE-9", &[], "curl", "/var/lib/dpkg/status")));
        // package matches the purl too; both fields must match.
        assert!(!rules[2].matches(&finding("GHSA-x", &[], "requests", "/srv/app/requirements.txt")));
        let mut python = finding("CVE-5", &["GHSA-x"], "requests", "/srv/app/requirements.txt");
        python.purl = "pkg:pypi/requests@2.31.0".to_string();
        assert!(rules[2].matches(&python));
    }

    #[test]
    fn apply_marks_first_live_rule_and_reports_expired_ones() {
        let suppressions = Suppressions {
            file: PathBuf::from("ignore.yaml"),
            rules: parse(
                "rules:\n  - id: CVE-1\n    reason: old\n    expires: 2020-01-31\n  - id: CVE-1\n    reason: current\n    expires: 2030-06-30\n  - package: zlib1g\n    reason: forever\n",
            )
            .unwrap(),
        };
        let mut findings = vec![
            finding("CVE-1", &[], "curl", "/var/lib/dpkg/status"),
            finding("CVE-2", &[], "zlib1g", "/var/lib/dpkg/status"),
            finding("CVE-3", &[], "bash", "/var/lib/dpkg/status"),
        ];
        let issues = apply(&mut findings, &suppressions, "2026-12-02");
        assert_eq!(
            findings[0].suppressed,
            Some(Suppression { rule: 1, reason: "current".to_string(), expires: Some("2030-06-30".to_string()) })
        );
        assert_eq!(findings[1].suppressed.as_ref().map(|suppression| suppression.rule), Some(2));
        assert_eq!(findings[2].suppressed, None);
        assert_eq!(issues.len(), 1);
        assert!(issues[0].message.contains("rule 1 (id CVE-1)"), "{}", issues[0].message);
        assert!(issues[0].message.contains("expired on 2020-01-31"), "{}", issues[0].message);
        // A rule applies through its expiry day and stops the day after.
        let mut findings = vec![finding("CVE-1", &[], "curl", "/var/lib/dpkg/status")];
        assert!(apply(&mut findings, &suppressions, "2030-06-30").len() == 1 && findings[0].suppressed.is_some());
        let issues = apply(&mut findings, &suppressions, "2030-07-01");
        assert_eq!(issues.len(), 2);
        assert_eq!(findings[0].suppressed, None);
    }

    #[test]
    fn bad_files_are_errors_with_reasons() {
        assert_eq!(parse("").unwrap(), Vec::new());
        assert_eq!(parse("# nothing yet\n").unwrap(), Vec::new());
        assert_eq!(parse("rules: []\n").unwrap(), Vec::new());
        for (text, expected) in [
            ("rules:\n  - id: CVE-1\n", "`reason` is required"),
            ("rules:\n  - reason: everything\n", "at least one of"),
            ("rules:\n  - id: CVE-1\n    reason: '  '\n", "`reason` is empty"),
            ("rules:\n  - id: CVE-1\n    reason: r\n    expires: 2027-02-30\n", "not a date"),
            ("rules:\n  - id: CVE-1\n    reason: r\n    expires: tomorrow\n", "not a date"),
            ("rules:\n  - id: CVE-1\n    reason: r\n    expiry: 2027-01-01\n", "expiry"),
            ("ignore:\n  - id: CVE-1\n", "ignore"),
            ("rules:\n  - id: [CVE-1\n", "line"),
            ("a: 1\n---\nb: 2\n", "YAML"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        assert!(is_date("2024-02-29") && !is_date("2023-02-29") && !is_date("2024-13-01") && !is_date("2024-1-01"));
    }
}
