//! Go module versions: SemVer with a `v` prefix (OSV records drop it), pseudo-versions
//! (`v0.0.0-20231016150651-428517fef5b9`, which are pre-releases and so order by their
//! timestamp), and `+incompatible` (build metadata, ignored). Go toolchain versions
//! (`go1.21rc2`) are normalised to SemVer by [`normalize_toolchain`] before matching the
//! `stdlib` package.

use super::semver::{compare_parsed, parse_with};
use super::{Scheme, VersionError};
use std::cmp::Ordering;

/// Order two Go module versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse_with(a, 3, Scheme::Go)?;
    let b = parse_with(b, 3, Scheme::Go)?;
    Ok(compare_parsed(&a, &b, false))
}

/// Turn a Go toolchain version (`go1.21.5`, `go1.21`, `go1.21rc2`, `go1.20beta1`) into
/// the SemVer form Go's stdlib advisories use (`1.21.5`, `1.21.0`, `1.21.0-rc.2`).
pub fn normalize_toolchain(version: &str) -> Option<String> {
    let text = version.strip_prefix("go").unwrap_or(version);
    let (release, prerelease) = match text.find(|character: char| character.is_ascii_alphabetic()) {
        Some(index) => text.split_at(index),
        None => (text, ""),
    };
    let parts: Vec<&str> = release.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts.iter().any(|part| part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return None;
    }
    let mut normalized = parts.join(".");
    for _ in parts.len()..3 {
        normalized.push_str(".0");
    }
    if !prerelease.is_empty() {
        let (label, number) = super::split_leading(prerelease, |byte| byte.is_ascii_alphabetic());
        if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        normalized.push_str(&format!("-{label}.{number}"));
    }
    Some(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// Orderings from golang.org/x/mod/semver and the module reference's pseudo-version
    /// rules.
    #[test]
    fn orders_like_go() {
        assert_ascending(
            Scheme::Go,
            &[
                "v0.0.0-20190101000000-aaaaaaaaaaaa",
                "v0.0.0-20231016150651-428517fef5b9",
                "v0.0.1",
                "v1.2.3-pre",
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4",
                "v1.10.0",
                "v2.0.0+incompatible",
                "v2.1.0",
            ],
        );
        assert_equal(Scheme::Go, &[("v2.0.0+incompatible", "2.0.0"), ("v1.2.3", "1.2.3")]);
        assert_invalid(Scheme::Go, &["vv1.0.0", "1.0.0.0", "v1.x"]);
    }

    #[test]
    fn normalizes_toolchain_versions() {
        assert_eq!(normalize_toolchain("go1.21.5").as_deref(), Some("1.21.5"));
        assert_eq!(normalize_toolchain("go1.21").as_deref(), Some("1.21.0"));
        assert_eq!(normalize_toolchain("go1.21rc2").as_deref(), Some("1.21.0-rc.2"));
        assert_eq!(normalize_toolchain("go1.20beta1").as_deref(), Some("1.20.0-beta.1"));
        assert_eq!(normalize_toolchain("devel +abc"), None);
        assert_eq!(normalize_toolchain("go1.21rc"), None);
        assert_ascending(Scheme::Go, &["1.21.0-rc.2", "1.21.0", "1.21.5"]);
    }
}
