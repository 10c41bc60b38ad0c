//! Version schemes: each ecosystem orders versions by its own rules, and a finding is
//! only right if we compare the way the package manager does.
//!
//! One file per scheme, each tested from `a < b` tables taken from the ecosystem's own
//! documentation and test suites. [`compare`] is the single entry point the advisory
//! evaluator uses. Versions come from attacker-controlled disks and from advisory feeds,
//! so every parser is total: a string it cannot read is a [`VersionError`], never a panic,
//! and never silently "not affected".

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod go;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Longest version string any scheme accepts; real ones are far shorter.
pub const MAX_VERSION_LENGTH: usize = 256;

/// A version ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Debian/Ubuntu `[epoch:]upstream[-revision]` (deb-version(7)).
    Dpkg,
    /// RPM `[epoch:]version[-release]` with rpmvercmp.
    Rpm,
    /// Alpine apk-tools versions (`1.2.3_rc1-r0`).
    Apk,
    /// Python PEP 440.
    Pep440,
    /// Semantic Versioning 2.0 (npm, crates.io, OSV `SEMVER` ranges).
    Semver,
    /// Go modules: SemVer with `v`, pseudo-versions and `+incompatible`.
    Go,
    /// Maven `ComparableVersion`.
    Maven,
    /// RubyGems `Gem::Version`.
    Rubygems,
    /// NuGet (four numeric parts, case-insensitive pre-release labels).
    Nuget,
    /// Composer (normalised versions compared like PHP `version_compare`).
    Composer,
}

impl Scheme {
    /// Every scheme, for tests and tools.
    pub const ALL: [Scheme; 10] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::Rubygems,
        Scheme::Nuget,
        Scheme::Composer,
    ];

    /// Lower-case name, as stored in the bundle.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::Rubygems => "rubygems",
            Scheme::Nuget => "nuget",
            Scheme::Composer => "composer",
        }
    }

    /// The scheme with this [`Scheme::name`].
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|scheme| scheme.name() == name)
    }
}

/// Why a version could not be compared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The empty string is no version in any scheme.
    #[error("empty {scheme} version")]
    Empty {
        /// Scheme name.
        scheme: &'static str,
    },
    /// Longer than [`MAX_VERSION_LENGTH`].
    #[error("{scheme} version is {length} bytes long (limit {MAX_VERSION_LENGTH})")]
    TooLong {
        /// Scheme name.
        scheme: &'static str,
        /// Its length.
        length: usize,
    },
    /// Not valid in the scheme.
    #[error("invalid {scheme} version {version:?}: {reason}")]
    Invalid {
        /// Scheme name.
        scheme: &'static str,
        /// The version as given.
        version: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl VersionError {
    /// An [`VersionError::Invalid`] for `version`.
    pub fn invalid(scheme: Scheme, version: &str, reason: &'static str) -> Self {
        VersionError::Invalid { scheme: scheme.name(), version: version.to_string(), reason }
    }
}

/// Order `a` and `b` under `scheme`.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    check_length(scheme, a)?;
    check_length(scheme, b)?;
    match scheme {
        Scheme::Dpkg => dpkg::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
        Scheme::Apk => apk::compare(a, b),
        Scheme::Pep440 => pep440::compare(a, b),
        Scheme::Semver => semver::compare(a, b),
        Scheme::Go => go::compare(a, b),
        Scheme::Maven => maven::compare(a, b),
        Scheme::Rubygems => rubygems::compare(a, b),
        Scheme::Nuget => nuget::compare(a, b),
        Scheme::Composer => composer::compare(a, b),
    }
}

/// Check that `version` is valid under `scheme`.
pub fn validate(scheme: Scheme, version: &str) -> Result<(), VersionError> {
    compare(scheme, version, version).map(|_| ())
}

fn check_length(scheme: Scheme, version: &str) -> Result<(), VersionError> {
    if version.is_empty() {
        return Err(VersionError::Empty { scheme: scheme.name() });
    }
    if version.len() > MAX_VERSION_LENGTH {
        return Err(VersionError::TooLong { scheme: scheme.name(), length: version.len() });
    }
    Ok(())
}

/// Compare two runs of ASCII digits as unbounded non-negative integers (no overflow:
/// versions like `20240101123456789012` exist).
pub fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Split `text` at the end of its leading run of bytes matching `predicate`.
pub(crate) fn split_leading(text: &str, predicate: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = text.bytes().position(|byte| !predicate(byte)).unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers shared by the per-scheme tests.
    use super::*;

    /// Assert every adjacent pair of `ascending` is strictly increasing (and the
    /// comparison is antisymmetric), and each element equals itself.
    pub fn assert_ascending(scheme: Scheme, ascending: &[&str]) {
        for pair in ascending.windows(2) {
            let [lower, higher] = pair else { continue };
            assert_eq!(compare(scheme, lower, higher), Ok(Ordering::Less), "{scheme:?}: {lower} < {higher}");
            assert_eq!(compare(scheme, higher, lower), Ok(Ordering::Greater), "{scheme:?}: {higher} > {lower}");
        }
        for version in ascending {
            assert_eq!(compare(scheme, version, version), Ok(Ordering::Equal), "{scheme:?}: {version} = itself");
        }
    }

    /// Assert each pair compares equal.
    pub fn assert_equal(scheme: Scheme, pairs: &[(&str, &str)]) {
        for (left, right) in pairs {
            assert_eq!(compare(scheme, left, right), Ok(Ordering::Equal), "{scheme:?}: {left} = {right}");
        }
    }

    /// Assert each version is rejected.
    pub fn assert_invalid(scheme: Scheme, versions: &[&str]) {
        for version in versions {
            assert!(validate(scheme, version).is_err(), "{scheme:?}: {version:?} should be invalid");
        }
    }

    /// A small deterministic PRNG (xorshift64*), so random tests are repeatable.
    pub struct Random(pub u64);

    impl Random {
        /// Next pseudo-random number.
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A random index below `bound` (bound > 0).
        pub fn below(&mut self, bound: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(bound).unwrap_or(1)).unwrap_or(0)
        }

        /// A random version-like string from `alphabet`, up to `max_length` long.
        pub fn string(&mut self, alphabet: &[u8], max_length: usize) -> String {
            let length = self.below(max_length + 1);
            (0..length).map(|_| char::from(alphabet[self.below(alphabet.len())])).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Random;
    use super::*;

    #[test]
    fn digits_compare_without_overflow() {
        assert_eq!(compare_digits("007", "7"), Ordering::Equal);
        assert_eq!(compare_digits("99999999999999999999999", "100000000000000000000000"), Ordering::Less);
        assert_eq!(compare_digits("", "0"), Ordering::Equal);
    }

    #[test]
    fn empty_and_huge_versions_are_errors_in_every_scheme() {
        let huge = "1".repeat(MAX_VERSION_LENGTH + 1);
        for scheme in Scheme::ALL {
            assert!(matches!(compare(scheme, "", "1"), Err(VersionError::Empty { .. })));
            assert!(matches!(compare(scheme, "1", &huge), Err(VersionError::TooLong { .. })));
            assert_eq!(Scheme::from_name(scheme.name()), Some(scheme));
        }
    }

    /// Random strings never panic, and comparison is reflexive and antisymmetric on
    /// everything a scheme accepts.
    #[test]
    fn random_strings_never_panic_and_order_consistently() {
        let alphabet = b"0123456789.-+~^_:!abcdeprvlgtsmxARCV ";
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        for scheme in Scheme::ALL {
            for _ in 0..3000 {
                let left = random.string(alphabet, 14);
                let right = random.string(alphabet, 14);
                let forward = compare(scheme, &left, &right);
                let backward = compare(scheme, &right, &left);
                if let (Ok(forward), Ok(backward)) = (&forward, &backward) {
                    assert_eq!(*forward, backward.reverse(), "{scheme:?}: {left:?} vs {right:?}");
                    assert_eq!(compare(scheme, &left, &left), Ok(Ordering::Equal), "{scheme:?}: {left:?}");
                } else {
                    assert_eq!(forward.is_ok(), backward.is_ok(), "{scheme:?}: {left:?} vs {right:?}");
                }
            }
        }
    }
}
