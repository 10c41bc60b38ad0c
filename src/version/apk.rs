//! Alpine apk-tools versions: `number{.number}[letter]{_suffix[number]}[~hash][-rN]`.
//! Pre-release suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) sort before the bare version,
//! post-release ones (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) after it, as in apk-tools'
//! `version.c`.

use super::{Scheme, VersionError, compare_digits, split_leading};
use std::cmp::Ordering;

/// Suffixes in apk-tools order; those before `None` are pre-releases.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg"];
/// Rank of "no suffix" in [`SUFFIXES`].
const RELEASE_RANK: usize = 4;
/// `_p` (patch) sorts after all of [`SUFFIXES`].
const PATCH_RANK: usize = 9;

/// A parsed apk version.
#[derive(Debug, PartialEq, Eq)]
struct ApkVersion<'a> {
    numbers: Vec<&'a str>,
    letter: Option<u8>,
    suffixes: Vec<(usize, &'a str)>,
    revision: &'a str,
}

fn parse(version: &str) -> Result<ApkVersion<'_>, VersionError> {
    let invalid = |reason| VersionError::invalid(Scheme::Apk, version, reason);
    let (mut rest, revision) = match version.rsplit_once("-r") {
        Some((rest, revision)) if !revision.is_empty() && revision.bytes().all(|byte| byte.is_ascii_digit()) => {
            (rest, revision)
        }
        Some(_) => return Err(invalid("revision is not -r<number>")),
        None => (version, ""),
    };
    if let Some((before_hash, hash)) = rest.split_once('~') {
        if hash.is_empty() || !hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid("commit hash after '~' is not hexadecimal"));
        }
        rest = before_hash;
    }
    let mut numbers = Vec::new();
    loop {
        let (number, after) = split_leading(rest, |byte| byte.is_ascii_digit());
        if number.is_empty() {
            return Err(invalid("expected a number"));
        }
        numbers.push(number);
        rest = after;
        match rest.strip_prefix('.') {
            Some(after_dot) => rest = after_dot,
            None => break,
        }
    }
    let letter = match rest.bytes().next() {
        Some(byte) if byte.is_ascii_lowercase() => {
            rest = &rest[1..];
            Some(byte)
        }
        _ => None,
    };
    let mut suffixes = Vec::new();
    while let Some(after) = rest.strip_prefix('_') {
        let (name, after_name) = split_leading(after, |byte| byte.is_ascii_lowercase());
        let rank = match name {
            "p" => PATCH_RANK,
            "" => return Err(invalid("empty suffix")),
            name => SUFFIXES.iter().position(|known| *known == name).ok_or_else(|| invalid("unknown suffix"))?,
        };
        let (number, after_number) = split_leading(after_name, |byte| byte.is_ascii_digit());
        suffixes.push((rank, number));
        rest = after_number;
    }
    if !rest.is_empty() {
        return Err(invalid("unexpected characters"));
    }
    Ok(ApkVersion { numbers, letter, suffixes, revision })
}

/// Order two apk versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    Ok(compare_numbers(&a.numbers, &b.numbers)
        .then_with(|| a.letter.cmp(&b.letter))
        .then_with(|| compare_suffixes(&a.suffixes, &b.suffixes))
        .then_with(|| compare_digits(a.revision, b.revision)))
}

/// Numeric components in order; with an equal prefix, more components is newer.
fn compare_numbers(a: &[&str], b: &[&str]) -> Ordering {
    for (left, right) in a.iter().zip(b) {
        let order = compare_digits(left, right);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Suffixes in order; a missing suffix counts as the bare release.
fn compare_suffixes(a: &[(usize, &str)], b: &[(usize, &str)]) -> Ordering {
    let release = (RELEASE_RANK, "");
    let length = a.len().max(b.len());
    for index in 0..length {
        let (left_rank, left_number) = a.get(index).copied().unwrap_or(release);
        let (right_rank, right_number) = b.get(index).copied().unwrap_or(release);
        let order = left_rank.cmp(&right_rank).then_with(|| compare_digits(left_number, right_number));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// Cases from apk-tools `test/version.data` and Alpine's secdb.
    #[test]
    fn orders_like_apk_tools() {
        assert_ascending(
            Scheme::Apk,
            &[
                "1.0_alpha",
                "1.0_alpha1",
                "1.0_beta",
                "1.0_pre1",
                "1.0_rc1",
                "1.0",
                "1.0_cvs1",
                "1.0_git20240101",
                "1.0_p1",
                "1.0_p2",
                "1.0a",
                "1.0.1",
            ],
        );
        assert_ascending(Scheme::Apk, &["1.2.3-r0", "1.2.3-r1", "1.2.3-r10", "1.2.4-r0"]);
        assert_ascending(Scheme::Apk, &["3.0.8-r0", "3.0.10-r0", "3.1.4-r5", "3.3.0_alpha1-r0", "3.3.0-r0"]);
        assert_ascending(Scheme::Apk, &["1.36.1-r2", "1.36.1-r15", "1.36.1-r29"]);
        assert_ascending(Scheme::Apk, &["2.2a", "2.2b", "2.2.1"]);
        assert_ascending(Scheme::Apk, &["0.9.9_rc1_p1", "0.9.9_rc2", "0.9.9"]);
        assert_equal(Scheme::Apk, &[("1.0-r0", "1.0"), ("1.0~abc123-r0", "1.0"), ("1.01", "1.1")]);
    }

    #[test]
    fn rejects_malformed() {
        assert_invalid(
            Scheme::Apk,
            &["a1", "1.", "1..2", "1.0_bogus", "1.0-r", "1.0-rx", "1.0~xyz", "1.0 ", "1.0A", "1.0_"],
        );
    }
}
