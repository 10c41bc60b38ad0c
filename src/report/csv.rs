//! CSV (RFC 4180) for spreadsheets and ad-hoc scripts: one flat table of packages,
//! findings and issues, told apart by the `record` column.
//!
//! A package with findings appears once per finding (`record` = `finding`) with the
//! vulnerability columns filled; a package without findings appears once (`package`);
//! scan problems are `issue` rows so nobody mistakes a partial inventory for a full one.
//! Package names, versions and paths come from the scanned disk, i.e. from an attacker:
//! any cell a spreadsheet would run as a formula (starting `=`, `+`, `-`, `@`, tab or
//! carriage return) is prefixed with `'` (OWASP's CSV-injection advice) and every cell
//! is quoted as RFC 4180 requires.

use crate::model::{Finding, Scan};
use crate::report::common;
use std::collections::BTreeMap;

/// Column names, in order; `tests/validate_report.py` checks the same list.
pub const COLUMNS: [&str; 16] = [
    "record",
    "severity",
    "vulnerability",
    "aliases",
    "cvss_score",
    "package",
    "version",
    "fixed_version",
    "ecosystem",
    "purl",
    "arch",
    "source_name",
    "source_version",
    "found_by",
    "locations",
    "summary",
];

/// Write `scan` as one CSV table with a header row.
pub fn write(scan: &Scan, output: &mut dyn std::io::Write) -> std::io::Result<()> {
    write_row(output, &COLUMNS.map(str::to_string))?;
    let mut by_package: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    let mut unmatched: Vec<&Finding> = Vec::new();
    let index = common::PackageIndex::new(scan);
    // Suppressed findings are left out: CSV has no column to say so, and a spreadsheet
    // of findings is read as the list to act on.
    for finding in common::unsuppressed(scan) {
        match index.package_of(finding) {
            Some((index, _)) => by_package.entry(index).or_default().push(finding),
            None => unmatched.push(finding),
        }
    }
    for (index, package) in scan.packages.iter().enumerate() {
        let locations: Vec<String> = package.locations.iter().map(ToString::to_string).collect();
        let package_cells = |record: &str, finding: Option<&Finding>| {
            let mut cells = finding_cells(record, finding);
            cells[5] = package.name.clone();
            cells[6] = package.version.clone();
            cells[8] = package.ecosystem.purl_type().to_string();
            cells[9] = package.purl.clone();
            cells[10] = package.arch.clone().unwrap_or_default();
            cells[11] = package.source_name.clone().unwrap_or_default();
            cells[12] = package.source_version.clone().unwrap_or_default();
            cells[13] = package.found_by.clone();
            cells[14] = locations.join("; ");
            cells
        };
        match by_package.get(&index) {
            Some(findings) => {
                for finding in findings {
                    write_row(output, &package_cells("finding", Some(finding)))?;
                }
            }
            None => write_row(output, &package_cells("package", None))?,
        }
    }
    for finding in unmatched {
        write_row(output, &finding_cells("finding", Some(finding)))?;
    }
    for issue in &scan.issues {
        let mut cells = finding_cells("issue", None);
        cells[1] = match issue.severity {
            crate::model::Severity::Warning => "warning".to_string(),
            crate::model::Severity::Error => "error".to_string(),
        };
        cells[14] = issue.location.as_ref().map(ToString::to_string).unwrap_or_default();
        cells[15] = issue.message.clone();
        write_row(output, &cells)?;
    }
    Ok(())
}

/// A row with the record kind and, when given, the finding's own columns.
fn finding_cells(record: &str, finding: Option<&Finding>) -> [String; 16] {
    let mut cells: [String; 16] = Default::default();
    cells[0] = record.to_string();
    if let Some(finding) = finding {
        cells[1] = finding.severity.clone();
        cells[2] = finding.id.clone();
        cells[3] = finding.aliases.join(" ");
        cells[4] =
            finding.cvss_score.filter(|score| score.is_finite()).map(|score| score.to_string()).unwrap_or_default();
        cells[5] = finding.package.clone();
        cells[6] = finding.installed_version.clone();
        cells[7] = finding.fixed_version.clone().unwrap_or_default();
        cells[8] = finding.ecosystem.clone();
        cells[9] = finding.purl.clone();
        cells[14] = finding.locations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        cells[15] = finding.summary.clone().unwrap_or_default();
    }
    cells
}

fn write_row(output: &mut dyn std::io::Write, cells: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = cells.iter().map(|text| cell(text)).collect();
    output.write_all(line.join(",").as_bytes())?;
    output.write_all(b"\r\n")
}

/// One cell: formula starters defused with `'`, then quoted with `"` doubled.
fn cell(text: &str) -> String {
    let defused =
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn written(scan: &Scan) -> String {
        let mut bytes = Vec::new();
        write(scan, &mut bytes).expect("write to memory");
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let cases = [
            ("plain", "\"plain\""),
            ("", "\"\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=1+1", "\"'=1+1\""),
            ("+1", "\"'+1\""),
            ("-2+3", "\"'-2+3\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tx", "\"'\tx\""),
            ("\rx", "\"'\rx\""),
            ("a=b", "\"a=b\""),
            ("line\nbreak", "\"line\nbreak\""),
        ];
        for (text, expected) in cases {
            assert_eq!(cell(text), expected, "{text:?}");
        }
    }

    #[test]
    fn packages_findings_and_issues_each_get_rows() {
        let text = written(&sample::scan());
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS.map(|column| format!("\"{column}\"")).join(","));
        let kinds: Vec<&str> = lines
            .iter()
            .skip(1)
            .filter(|line| line.starts_with('"'))
            .map(|line| line.split(',').next().unwrap_or_default())
            .collect();
        // bash: package; hostile: finding; libssl3, openssl: finding; requests: finding; 2 issues.
        assert_eq!(kinds.iter().filter(|kind| **kind == "\"package\"").count(), 1);
        assert_eq!(kinds.iter().filter(|kind| **kind == "\"finding\"").count(), 4);
        assert_eq!(kinds.iter().filter(|kind| **kind == "\"issue\"").count(), 2);
        assert!(text.contains(
            "\"finding\",\"critical\",\"CVE-2024-5535\",\"\",\"9.1\",\"openssl\",\"3.0.11-1~deb12u2\",\"3.0.15-1~deb12u1\",\"deb\","
        ));
        assert!(text.contains("\"'=HYPERLINK(\"\"http://attacker.example.org\"\",\"\"x\"\")\",\"1,2\"\"3\""), "{text}");
        assert!(text.contains("\"'@SUM(1+1)\""), "arch is defused too");
        assert!(
            text.contains("\"'-2+3,\"\"quoted\"\"\nsecond line\u{1b}[2J\u{0}\""),
            "summary keeps its newline inside quotes"
        );
        assert!(text.contains("\"issue\",\"error\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"partition 1: unsupported filesystem\""));
    }

    #[test]
    fn findings_without_their_package_are_still_listed() {
        let mut scan = sample::scan();
        scan.packages.clear();
        scan.issues.clear();
        let text = written(&scan);
        assert_eq!(text.matches("\r\n\"finding\"").count(), scan.findings.len());
        assert!(!text.contains("\r\n\"package\""));
    }

    #[test]
    fn an_empty_scan_is_just_the_header() {
        let mut scan = sample::scan();
        scan.packages.clear();
        scan.findings.clear();
        scan.issues.clear();
        assert_eq!(written(&scan).matches("\r\n").count(), 1);
    }
}
