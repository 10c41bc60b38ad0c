//! The offline advisory bundle: importing advisory feeds, validating them once, storing
//! them in one SQLite file, and answering "which advisories name this package?".
//!
//! Feeds come in several formats (OSV JSON/YAML, Alpine secdb, Amazon Linux
//! `updateinfo.xml`); each importer turns its wire format (private to its module) into
//! the validated [`Advisory`] below, so a value in memory is always valid: every range
//! has a known version scheme, its events parse under that scheme and are sorted once,
//! and withdrawn records never get this far. Bad records are counted with a reason and
//! never abort a build. [`Database::open`] loads only an index by (ecosystem, normalised
//! name); advisories are read from the bundle when a package asks for them.

pub mod alas;
pub mod alpine;
pub mod ecosystem;
pub mod import;
pub mod osv;
pub mod severity;
pub mod store;
pub mod update;

use crate::version::{self, Scheme, VersionError};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

pub use severity::{Severity, SeverityBand};
pub use store::{BuildReport, Database, DatabaseInfo, SourceInfo};

/// Why an advisory feed, record or bundle could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A feed file is not in a format we read.
    #[error("{path}: {reason}")]
    Format {
        /// The file (and entry inside an archive).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The SQLite bundle could not be read or written.
    #[error("advisory bundle {path}: {source}")]
    Sqlite {
        /// The bundle file.
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The bundle was written by an incompatible snapscan.
    #[error(
        "advisory bundle {path} has schema version {found}; this snapscan reads version {expected} (rebuild it with `snapscan db build`)"
    )]
    Schema {
        /// The bundle file.
        path: String,
        /// Version in the file.
        found: String,
        /// Version we read.
        expected: u32,
    },
    /// No bundle at the path.
    #[error(
        "no advisory bundle at {path}: download one with `snapscan db update --db {path}`, or build one with `snapscan db build --from DIR --output {path}`"
    )]
    Missing {
        /// Where we looked.
        path: String,
    },
}

/// One event of a range, in the order OSV defines them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Versions from here on are affected (`"0"`: from the beginning).
    Introduced(String),
    /// Versions from here on are not affected.
    Fixed(String),
    /// Versions after this one are not affected.
    LastAffected(String),
    /// Versions from here on are outside the range.
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(version)
            | Event::Fixed(version)
            | Event::LastAffected(version)
            | Event::Limit(version) => version,
        }
    }
}

/// A validated range: its scheme is known and its events are sorted by version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// How to compare versions in it.
    pub scheme: Scheme,
    /// Events, sorted (introduced `"0"` first).
    pub events: Vec<Event>,
}

/// `"0"` in an `introduced` event means "since the first version" in every scheme.
fn is_zero_introduced(event: &Event) -> bool {
    matches!(event, Event::Introduced(version) if version == "0")
}

impl Range {
    /// Validate every event under `scheme` and sort the events once.
    pub fn new(scheme: Scheme, mut events: Vec<Event>) -> Result<Range, VersionError> {
        if events.len() > MAX_EVENTS {
            return Err(VersionError::invalid(scheme, "", "too many events in one range"));
        }
        for event in &events {
            if !is_zero_introduced(event) {
                version::validate(scheme, event.version())?;
            }
        }
        // Validated above, so comparisons cannot fail; a zero introduced sorts first.
        events.sort_by(|left, right| match (is_zero_introduced(left), is_zero_introduced(right)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => version::compare(scheme, left.version(), right.version()).unwrap_or(Ordering::Equal),
        });
        Ok(Range { scheme, events })
    }

    /// How many leading events are at or below `installed`: the events are sorted, so
    /// they form a prefix, found by binary search (Alpine ranges list dozens of fixes).
    fn reached(&self, installed: &str) -> Result<usize, VersionError> {
        let mut failure = None;
        let reached = self.events.partition_point(|event| {
            is_zero_introduced(event)
                || match version::compare(self.scheme, installed, event.version()) {
                    Ok(order) => order != Ordering::Less,
                    Err(error) => {
                        failure.get_or_insert(error);
                        false
                    }
                }
        });
        match failure {
            Some(error) => Err(error),
            None => Ok(reached),
        }
    }

    /// Whether `installed` (already validated under this scheme) falls in the range, as
    /// the OSV specification's evaluation walks it. Walking the events in order, only
    /// those at or below `installed` can change the state, and the last one that does
    /// decides it; so the reached prefix is read backwards to that event.
    pub fn contains(&self, installed: &str) -> Result<bool, VersionError> {
        self.contains_reached(installed, self.reached(installed)?)
    }

    /// [`Range::contains`] given the reached prefix.
    fn contains_reached(&self, installed: &str, reached: usize) -> Result<bool, VersionError> {
        for event in self.events.get(..reached).unwrap_or_default().iter().rev() {
            match event {
                Event::Introduced(_) => return Ok(true),
                Event::Fixed(_) | Event::Limit(_) => return Ok(false),
                // Reached means at or above; last_affected stops only strictly above.
                Event::LastAffected(version) => {
                    if version::compare(self.scheme, installed, version)? == Ordering::Greater {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(false)
    }

    /// The lowest `fixed` version above `installed`, if any: the first `fixed` after the
    /// reached prefix.
    pub fn nearest_fix(&self, installed: &str) -> Option<&str> {
        self.nearest_fix_reached(self.reached(installed).ok()?)
    }

    fn nearest_fix_reached(&self, reached: usize) -> Option<&str> {
        self.events.get(reached..)?.iter().find_map(|event| match event {
            Event::Fixed(fixed) => Some(fixed.as_str()),
            _ => None,
        })
    }

    /// Whether `installed` is in the range and, if so, the nearest fix above it: one
    /// binary search for both.
    pub fn verdict(&self, installed: &str) -> Result<Option<Option<&str>>, VersionError> {
        let reached = self.reached(installed)?;
        Ok(self.contains_reached(installed, reached)?.then(|| self.nearest_fix_reached(reached)))
    }
}

/// Most events accepted in one range (real ones have a handful).
const MAX_EVENTS: usize = 4096;

/// One affected package of an advisory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// Full ecosystem as in the feed (`Debian:12`, `PyPI`, `Amazon Linux:2023`).
    pub ecosystem: String,
    /// Package name as in the feed.
    pub name: String,
    /// Name normalised for lookup (PEP 503 for PyPI, lower case for NuGet, …).
    pub normalized_name: String,
    /// Scheme of the ecosystem (for `versions` lists).
    pub scheme: Scheme,
    /// Validated ranges.
    pub ranges: Vec<Range>,
    /// Enumerated affected versions.
    pub versions: VersionList,
}

/// An enumerated version list, kept as one newline-joined string: lists run to a
/// thousand entries, are only ever searched for an exact string, and load from the
/// bundle as a single allocation instead of one per version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionList(String);

impl VersionList {
    /// Build from versions; entries containing a newline (never valid) are dropped.
    pub fn new(versions: impl IntoIterator<Item = String>) -> Self {
        let kept: Vec<String> =
            versions.into_iter().filter(|version| !version.contains('\n') && !version.is_empty()).collect();
        VersionList(kept.join("\n"))
    }

    /// Whether `version` is listed, exactly as written.
    pub fn contains(&self, version: &str) -> bool {
        !self.0.is_empty() && self.0.split('\n').any(|listed| listed == version)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The versions in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|listed| !listed.is_empty())
    }
}

/// What matching one installed version against an [`Affected`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not affected.
    NotAffected,
    /// Affected; the nearest fixed version above the installed one, if any.
    Affected {
        /// Nearest fix.
        fixed: Option<String>,
    },
}

impl Affected {
    /// Decide whether `installed` is affected. An installed version that does not parse
    /// under the scheme is an error (never "not affected").
    pub fn evaluate(&self, installed: &str) -> Result<Verdict, VersionError> {
        version::validate(self.scheme, installed)?;
        let mut affected = false;
        let mut fixed: Option<&str> = None;
        for range in &self.ranges {
            // Validated above under the entry's scheme; a SEMVER range in another scheme's
            // ecosystem (Go) is validated under its own.
            if range.scheme != self.scheme {
                version::validate(range.scheme, installed)?;
            }
            if let Some(nearest) = range.verdict(installed)? {
                affected = true;
                if let Some(candidate) = nearest {
                    let lower = match fixed {
                        Some(current) => version::compare(range.scheme, candidate, current) == Ok(Ordering::Less),
                        None => true,
                    };
                    if lower {
                        fixed = Some(candidate);
                    }
                }
            }
        }
        // The enumerated list names versions exactly as the registry writes them (OSV
        // matches them by string), and only matters when no range matched.
        if !affected {
            affected = self.versions.contains(installed);
        }
        Ok(if affected { Verdict::Affected { fixed: fixed.map(str::to_string) } } else { Verdict::NotAffected })
    }
}

/// A validated advisory record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// Record id (`GHSA-…`, `PYSEC-…`, `DSA-…`, `ALAS2-…`).
    pub id: String,
    /// Other ids of the same vulnerability (including OSV `upstream`).
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Last modification time (RFC 3339), when known.
    pub modified: Option<String>,
    /// Severity, computed at import.
    pub severity: Option<Severity>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// Affected packages.
    pub affected: Vec<Affected>,
    /// The feed it came from (the source name given at build time).
    pub source: String,
}

impl Advisory {
    /// Every id naming this vulnerability: the record id and its aliases.
    pub fn identifiers(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// Counts of what an importer kept and dropped, with reasons.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    /// Records read.
    pub records: u64,
    /// Records kept.
    pub imported: u64,
    /// Withdrawn records excluded.
    pub withdrawn: u64,
    /// GIT ranges skipped (commit ranges cannot be matched against package versions).
    pub git_ranges_skipped: u64,
    /// Rejections, each `"file: id: reason"`.
    pub rejected: Vec<String>,
    /// Affected entries or ranges dropped inside otherwise good records.
    pub dropped: Vec<String>,
}

impl ImportCounts {
    /// Add another count into this one.
    pub fn absorb(&mut self, other: ImportCounts) {
        self.records += other.records;
        self.imported += other.imported;
        self.withdrawn += other.withdrawn;
        self.git_ranges_skipped += other.git_ranges_skipped;
        self.rejected.extend(other.rejected);
        self.dropped.extend(other.dropped);
    }
}

/// Build a bundle at `output` from feed paths (directories, zips, files), replacing any
/// existing bundle atomically. Each path is one source, named by its file name.
pub fn build(inputs: &[std::path::PathBuf], output: &std::path::Path) -> Result<BuildReport, AdvisoryError> {
    // Imported as the bundle is written: one source's advisories in memory at a time.
    let sources = inputs.iter().map(|input| {
        let name =
            input.file_name().map_or_else(|| input.display().to_string(), |name| name.to_string_lossy().into_owned());
        let imported = import::import_path(input, &name)?;
        Ok((name, input.display().to_string(), imported.advisories, imported.counts))
    });
    let now = crate::distro::unix_now();
    store::write_bundle_from(output, sources, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(scheme: Scheme, events: &[Event]) -> Range {
        Range::new(scheme, events.to_vec()).unwrap()
    }

    fn introduced(version: &str) -> Event {
        Event::Introduced(version.to_string())
    }

    fn fixed(version: &str) -> Event {
        Event::Fixed(version.to_string())
    }

    #[test]
    fn walks_events_in_version_order_with_several_intervals() {
        // Given out of order on purpose: sorting happens once, at validation.
        let range = range(Scheme::Semver, &[fixed("1.5.0"), introduced("2.0.0"), fixed("2.3.1"), introduced("1.0.0")]);
        assert_eq!(range.events.first(), Some(&introduced("1.0.0")));
        for (installed, expected) in [
            ("0.9.0", false),
            ("1.0.0", true),
            ("1.4.9", true),
            ("1.5.0", false),
            ("1.9.9", false),
            ("2.0.0", true),
            ("2.3.0", true),
            ("2.3.1", false),
        ] {
            assert_eq!(range.contains(installed), Ok(expected), "{installed}");
        }
        assert_eq!(range.nearest_fix("2.1.0"), Some("2.3.1"));
        assert_eq!(range.nearest_fix("1.2.0"), Some("1.5.0"));
    }

    #[test]
    fn last_affected_and_limit_and_open_ranges() {
        let last = range(Scheme::Pep440, &[introduced("0"), Event::LastAffected("2.0".to_string())]);
        assert_eq!(last.contains("2.0"), Ok(true));
        assert_eq!(last.contains("2.0.post1"), Ok(false));
        let open = range(Scheme::Dpkg, &[introduced("0")]);
        assert_eq!(open.contains("1:9.9-1"), Ok(true));
        assert_eq!(open.nearest_fix("1.0"), None);
        let limit = range(Scheme::Semver, &[introduced("1.0.0"), Event::Limit("2.0.0".to_string())]);
        assert_eq!(limit.contains("1.5.0"), Ok(true));
        assert_eq!(limit.contains("2.0.0"), Ok(false));
    }

    /// The OSV specification's evaluation, walked event by event, to check the binary
    /// search against.
    fn walked(range: &Range, installed: &str) -> (bool, Option<String>) {
        let mut affected = false;
        for event in &range.events {
            let order = if is_zero_introduced(event) {
                Ordering::Greater
            } else {
                version::compare(range.scheme, installed, event.version()).unwrap()
            };
            match event {
                Event::Introduced(_) if order != Ordering::Less => affected = true,
                Event::Fixed(_) | Event::Limit(_) if order != Ordering::Less => affected = false,
                Event::LastAffected(_) if order == Ordering::Greater => affected = false,
                _ => {}
            }
        }
        let fix = range.events.iter().find_map(|event| match event {
            Event::Fixed(fixed) if version::compare(range.scheme, installed, fixed) == Ok(Ordering::Less) => {
                Some(fixed.clone())
            }
            _ => None,
        });
        (affected, fix)
    }

    #[test]
    fn binary_search_agrees_with_the_event_walk() {
        let mut random = crate::version::testing::Random(7);
        for _ in 0..3000 {
            let mut events = Vec::new();
            if random.below(2) == 0 {
                events.push(introduced("0"));
            }
            for _ in 0..random.below(8) {
                let version = format!("{}.{}.0", random.below(6), random.below(3));
                events.push(match random.below(4) {
                    0 => introduced(&version),
                    1 => fixed(&version),
                    2 => Event::LastAffected(version),
                    _ => Event::Limit(version),
                });
            }
            let range = range(Scheme::Semver, &events);
            for installed in ["0.0.0", "1.0.0", "1.1.0", "2.2.0", "3.0.0", "4.1.0", "5.2.0", "9.0.0"] {
                let expected = walked(&range, installed);
                let actual = (range.contains(installed).unwrap(), range.nearest_fix(installed).map(str::to_string));
                assert_eq!(actual, expected, "{installed} in {:?}", range.events);
            }
        }
    }

    #[test]
    fn invalid_event_versions_are_rejected_at_validation() {
        assert!(Range::new(Scheme::Dpkg, vec![introduced("0"), fixed("not a version")]).is_err());
        assert!(Range::new(Scheme::Semver, vec![introduced("x")]).is_err());
    }

    #[test]
    fn versions_list_and_unparsable_installed_version() {
        let affected = Affected {
            ecosystem: "PyPI".to_string(),
            name: "Jinja2".to_string(),
            normalized_name: "jinja2".to_string(),
            scheme: Scheme::Pep440,
            ranges: vec![range(Scheme::Pep440, &[introduced("0"), fixed("2.11.3")])],
            versions: VersionList::new(["3.0.0a1".to_string(), "2.0\nx".to_string()]),
        };
        assert_eq!(affected.evaluate("2.10"), Ok(Verdict::Affected { fixed: Some("2.11.3".to_string()) }));
        assert_eq!(affected.evaluate("2.11.3"), Ok(Verdict::NotAffected));
        assert_eq!(affected.evaluate("3.0.0a1"), Ok(Verdict::Affected { fixed: None }));
        assert!(affected.evaluate("garbage!").is_err());
        assert_eq!(affected.versions.iter().collect::<Vec<_>>(), ["3.0.0a1"]);
        assert!(!VersionList::default().contains(""));
    }
}
