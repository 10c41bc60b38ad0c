//! Semantic Versioning 2.0.0 (semver.org): `MAJOR.MINOR.PATCH[-pre.release][+build]`,
//! as npm, crates.io and OSV `SEMVER` ranges use it. Build metadata is ignored;
//! pre-release identifiers compare numerically when numeric, else by ASCII, and a
//! numeric identifier sorts before an alphanumeric one. Advisory feeds and lockfiles are
//! loose, so a leading `v`/`=` and missing minor/patch parts (`1.2` = `1.2.0`) are read.

use super::{Scheme, VersionError, compare_digits};
use std::cmp::Ordering;

/// A parsed semantic version (borrowing the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticVersion<'a> {
    /// Numeric release parts (three for SemVer, up to four for NuGet).
    pub release: Vec<&'a str>,
    /// Pre-release identifiers (`["rc", "1"]`).
    pub prerelease: Vec<&'a str>,
}

/// Parse with at most `max_parts` numeric release parts, reporting errors as `scheme`.
pub fn parse_with(version: &str, max_parts: usize, scheme: Scheme) -> Result<SemanticVersion<'_>, VersionError> {
    let invalid = |reason| VersionError::invalid(scheme, version, reason);
    let text = version.strip_prefix(['v', '=']).unwrap_or(version);
    let text = match text.split_once('+') {
        Some((_, "")) => return Err(invalid("empty build metadata")),
        Some((_, build)) if !build.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.') => {
            return Err(invalid("build metadata must be [0-9A-Za-z.-]"));
        }
        Some((before, _)) => before,
        None => text,
    };
    let (core, prerelease) = match text.split_once('-') {
        Some((core, prerelease)) => (core, Some(prerelease)),
        None => (text, None),
    };
    let release: Vec<&str> = core.split('.').collect();
    if release.len() > max_parts
        || release.iter().any(|part| part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return Err(invalid("release is not dot-separated numbers"));
    }
    let prerelease: Vec<&str> = match prerelease {
        Some(text) => text.split('.').collect(),
        None => Vec::new(),
    };
    if prerelease
        .iter()
        .any(|part| part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-'))
    {
        return Err(invalid("pre-release identifiers must be non-empty [0-9A-Za-z-]"));
    }
    Ok(SemanticVersion { release, prerelease })
}

/// Order parsed versions; `fold_case` compares alphanumeric identifiers ignoring ASCII
/// case (NuGet does, SemVer does not).
pub fn compare_parsed(a: &SemanticVersion<'_>, b: &SemanticVersion<'_>, fold_case: bool) -> Ordering {
    let length = a.release.len().max(b.release.len());
    for index in 0..length {
        let order =
            compare_digits(a.release.get(index).copied().unwrap_or("0"), b.release.get(index).copied().unwrap_or("0"));
        if order != Ordering::Equal {
            return order;
        }
    }
    match (a.prerelease.is_empty(), b.prerelease.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    for (left, right) in a.prerelease.iter().zip(&b.prerelease) {
        let numeric = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
        let order = match (numeric(left), numeric(right)) {
            (true, true) => compare_digits(left, right),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) if fold_case => left.to_ascii_lowercase().cmp(&right.to_ascii_lowercase()),
            (false, false) => left.cmp(right),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.prerelease.len().cmp(&b.prerelease.len())
}

/// Order two semantic versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse_with(a, 3, Scheme::Semver)?;
    let b = parse_with(b, 3, Scheme::Semver)?;
    Ok(compare_parsed(&a, &b, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// The precedence example of semver.org §11 and npm's `semver` tests.
    #[test]
    fn orders_like_semver_org() {
        assert_ascending(
            Scheme::Semver,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
        assert_ascending(
            Scheme::Semver,
            &["0.0.0-0", "0.0.0", "0.0.1", "0.1.0", "1.0.0", "1.2.3", "1.10.0", "2.0.0-0", "2.0.0"],
        );
        assert_ascending(Scheme::Semver, &["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-b"]);
        assert_ascending(Scheme::Semver, &["1.0.0-Beta", "1.0.0-beta"]);
        assert_equal(
            Scheme::Semver,
            &[("1.0.0+build.1", "1.0.0+other"), ("v1.2.3", "1.2.3"), ("1.2", "1.2.0"), ("=1.0.0", "1.0.0")],
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_invalid(
            Scheme::Semver,
            &["1.2.3.4", "1..2", "a.b.c", "1.0.0-", "1.0.0-a..b", "1.0.0+", "1.0.0-a_b", "1.0 .0", " 1"],
        );
    }
}
