//! The exit code contract, so scripts and cron jobs can act on a run without parsing it:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every target was scanned, and no finding is at or above `--fail-on` |
//! | 1 | a finding is at or above `--fail-on` (checked whenever any target was scanned) |
//! | 2 | error: bad arguments, a locked output directory, an unwritable report, or no target could be scanned |
//! | 3 | partial: some targets were scanned and some could not be (each has `error` set) |
//!
//! Findings outrank partial coverage because they are what a pipeline must stop on; the
//! report's targets and issues still say what was missed. A finding of `unknown` severity
//! does not trip `--fail-on`, as no threshold can be said to be reached.

use crate::advisory::SeverityBand;
use crate::matcher::any_at_or_above;
use crate::model::Scan;

/// Exit code: nothing to report.
pub const CLEAN: u8 = 0;
/// Exit code: findings at or above the threshold.
pub const FINDINGS: u8 = 1;
/// Exit code: error.
pub const ERROR: u8 = 2;
/// Exit code: some targets could not be scanned.
pub const PARTIAL: u8 = 3;

/// The exit code for a finished scan.
pub fn exit_code(scan: &Scan, fail_on: Option<SeverityBand>) -> u8 {
    let failed = scan.targets.iter().filter(|target| target.error.is_some()).count();
    if failed > 0 && failed == scan.targets.len() {
        return ERROR;
    }
    let failing = fail_on.is_some_and(|threshold| any_at_or_above(&scan.findings, threshold));
    if failing {
        FINDINGS
    } else if failed > 0 {
        PARTIAL
    } else {
        CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn exit_codes_follow_the_contract() {
        let scan = sample::scan();
        // The sample's worst finding is critical.
        assert_eq!(exit_code(&scan, None), CLEAN);
        assert_eq!(exit_code(&scan, Some(SeverityBand::Critical)), FINDINGS);
        let mut no_findings = scan.clone();
        no_findings.findings.clear();
        assert_eq!(exit_code(&no_findings, Some(SeverityBand::Low)), CLEAN);

        let mut failed = scan.targets[0].clone();
        failed.error = Some("cannot open image".into());
        let partial = Scan { targets: vec![scan.targets[0].clone(), failed.clone()], ..no_findings.clone() };
        assert_eq!(exit_code(&partial, Some(SeverityBand::Low)), PARTIAL);
        let partial_with_findings = Scan { findings: scan.findings.clone(), ..partial };
        assert_eq!(exit_code(&partial_with_findings, Some(SeverityBand::High)), FINDINGS);
        let nothing_scanned = Scan { targets: vec![failed], ..scan };
        assert_eq!(exit_code(&nothing_scanned, Some(SeverityBand::Low)), ERROR);
    }
}
