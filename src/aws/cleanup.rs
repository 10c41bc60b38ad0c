//! `snapscan cleanup`: delete snapshots left by runs that could not clean up after
//! themselves (SIGKILL, power loss). Only snapshots carrying our tag key are considered,
//! and only those older than a threshold, so a sweep never races a run in progress.

use super::{Session, ec2};
use std::time::{Duration, SystemTime};

/// What the sweep did with one tagged snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepResult {
    /// Region.
    pub region: String,
    /// Snapshot id (empty when listing the region failed).
    pub snapshot_id: String,
    /// Our scan id tag's value.
    pub scan_id: String,
    /// Age in seconds, when known.
    pub age_seconds: Option<u64>,
    /// `deleted`, `would delete` (dry run), `kept (too recent)`, or `failed`.
    pub action: &'static str,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// Delete (or with `dry_run`, list) our tagged snapshots older than `older_than` in every
/// region of the session.
pub fn sweep(session: &Session, older_than: Duration, dry_run: bool) -> Vec<SweepResult> {
    let now = SystemTime::now();
    let mut results = Vec::new();
    for region in session.regions() {
        let snapshots = match ec2::list_tagged_snapshots(session, region) {
            Ok(snapshots) => snapshots,
            Err(error) => {
                results.push(SweepResult {
                    region: region.clone(),
                    snapshot_id: String::new(),
                    scan_id: String::new(),
                    age_seconds: None,
                    action: "failed",
                    error: Some(error.to_string()),
                });
                continue;
            }
        };
        for snapshot in snapshots {
            let age = snapshot.start_time.and_then(|start| now.duration_since(start).ok());
            let mut result = SweepResult {
                region: region.clone(),
                snapshot_id: snapshot.snapshot_id.clone(),
                scan_id: snapshot.scan_id.clone(),
                age_seconds: age.map(|age| age.as_secs()),
                action: "kept (too recent)",
                error: None,
            };
            // A snapshot of unknown age is treated as new: better kept than deleted mid-scan.
            if age.is_some_and(|age| age >= older_than) {
                if dry_run {
                    result.action = "would delete";
                } else {
                    match ec2::delete_snapshot(session, region, &snapshot.snapshot_id) {
                        Ok(()) => result.action = "deleted",
                        Err(error) => {
                            result.action = "failed";
                            result.error = Some(error.to_string());
                        }
                    }
                }
            }
            results.push(result);
        }
    }
    results
}

/// Parse a duration like `6h`, `30m`, `45s`, `2d` or `0`.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("invalid age {text:?}: expected e.g. 6h, 30m, 2d"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid age {text:?}: the unit must be s, m, h or d")),
    };
    number.checked_mul(seconds_per_unit).map(Duration::from_secs).ok_or_else(|| format!("age {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_age("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_age("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_age("0"), Ok(Duration::ZERO));
        for bad in ["", "h", "6", "6w", "-1h", "99999999999999999999h", "1.5h"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }
}
