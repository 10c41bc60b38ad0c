//! NuGet versions: up to four numeric parts (`1.2.3.4`; missing parts are 0) with
//! SemVer 2.0 pre-release labels compared ignoring case, and metadata ignored, as
//! `NuGet.Versioning.VersionComparer.Default` does.

use super::semver::{compare_parsed, parse_with};
use super::{Scheme, VersionError};
use std::cmp::Ordering;

/// Order two NuGet versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse_with(a, 4, Scheme::Nuget)?;
    let b = parse_with(b, 4, Scheme::Nuget)?;
    Ok(compare_parsed(&a, &b, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// Cases from NuGet.Client's `VersionComparerTests`.
    #[test]
    fn orders_like_nuget() {
        assert_ascending(
            Scheme::Nuget,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.0.1",
                "1.0.1",
                "13.0.1",
                "13.0.3",
            ],
        );
        assert_ascending(Scheme::Nuget, &["1.0.0-1", "1.0.0-a"]);
        assert_equal(Scheme::Nuget, &[("1.0", "1.0.0.0"), ("1.0.0-BETA", "1.0.0-beta"), ("1.0.0+abc", "1.0.0")]);
        assert_invalid(Scheme::Nuget, &["1.0.0.0.0", "1.a", "1.0.0-"]);
    }
}
