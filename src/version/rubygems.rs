//! RubyGems versions, ordered as `Gem::Version#<=>`: `-` means `.pre.`, the version is
//! scanned into number and letter segments, trailing zeros are dropped from the numeric
//! head and from the rest, and a letter segment (a pre-release) sorts before a number.

use super::{Scheme, VersionError, compare_digits};
use std::cmp::Ordering;

/// A segment of a gem version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Number(String),
    Letters(String),
}

impl Segment {
    fn is_zero(&self) -> bool {
        matches!(self, Segment::Number(digits) if digits.trim_start_matches('0').is_empty())
    }

    fn compare(&self, other: &Segment) -> Ordering {
        match (self, other) {
            (Segment::Number(left), Segment::Number(right)) => compare_digits(left, right),
            (Segment::Letters(left), Segment::Letters(right)) => left.cmp(right),
            (Segment::Letters(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Letters(_)) => Ordering::Greater,
        }
    }
}

/// Check `Gem::Version::ANCHORED_VERSION_PATTERN` and return the canonical segments.
fn canonical_segments(version: &str) -> Result<Vec<Segment>, VersionError> {
    let invalid = |reason| VersionError::invalid(Scheme::Rubygems, version, reason);
    let text = version.trim();
    let (release, prerelease) = match text.split_once('-') {
        Some((release, prerelease)) => (release, Some(prerelease)),
        None => (text, None),
    };
    let mut parts = release.split('.');
    if !parts.next().is_some_and(|first| !first.is_empty() && first.bytes().all(|byte| byte.is_ascii_digit())) {
        return Err(invalid("must start with a number"));
    }
    if !parts.all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric())) {
        return Err(invalid("segments must be alphanumeric"));
    }
    if let Some(prerelease) = prerelease
        && prerelease
            .split('.')
            .any(|part| part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-'))
    {
        return Err(invalid("pre-release segments must be [0-9A-Za-z-]"));
    }
    let mut segments = Vec::new();
    let mut rest = text.replace('-', ".pre.");
    while !rest.is_empty() {
        let first = rest.as_bytes().first().copied().unwrap_or(b'.');
        let run = |predicate: fn(&u8) -> bool| rest.bytes().take_while(predicate).count();
        let length = if first.is_ascii_digit() {
            run(u8::is_ascii_digit)
        } else if first.is_ascii_alphabetic() {
            run(u8::is_ascii_alphabetic)
        } else {
            rest.drain(..1);
            continue;
        };
        let token: String = rest.drain(..length).collect();
        segments.push(if first.is_ascii_digit() { Segment::Number(token) } else { Segment::Letters(token) });
    }
    // Drop trailing zeros from the numeric head and from the remainder separately.
    let split = segments.iter().position(|segment| matches!(segment, Segment::Letters(_))).unwrap_or(segments.len());
    let mut tail = segments.split_off(split);
    while segments.last().is_some_and(Segment::is_zero) {
        segments.pop();
    }
    while tail.last().is_some_and(Segment::is_zero) {
        tail.pop();
    }
    segments.extend(tail);
    Ok(segments)
}

/// Order two gem versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = canonical_segments(a)?;
    let b = canonical_segments(b)?;
    let zero = Segment::Number(String::new());
    for index in 0..a.len().max(b.len()) {
        let order = a.get(index).unwrap_or(&zero).compare(b.get(index).unwrap_or(&zero));
        if order != Ordering::Equal {
            return Ok(order);
        }
    }
    Ok(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// Cases from rubygems' `test_gem_version.rb`.
    #[test]
    fn orders_like_gem_version() {
        assert_ascending(
            Scheme::Rubygems,
            &["1.0.a", "1.0.a.1", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.1", "1.8.2", "1.10"],
        );
        assert_ascending(Scheme::Rubygems, &["0.0.beta", "0.0.beta.1", "0"]);
        assert_ascending(Scheme::Rubygems, &["5.2.4.2", "5.2.4.3", "6.0.0.beta1", "6.0.0.rc1", "6.0.0", "6.0.3.1"]);
        assert_ascending(Scheme::Rubygems, &["2.2.0-b", "2.2.0", "2.2.0.1"]);
        assert_ascending(Scheme::Rubygems, &["1.16.0.rc1", "1.16.0", "1.16.2"]);
        assert_equal(
            Scheme::Rubygems,
            &[
                ("1.0", "1"),
                ("1.0.0", "1"),
                ("1.2.b1", "1.2.b.1"),
                ("1.2.pre.1", "1.2-1"),
                (" 1.0 ", "1.0"),
                ("0.0.beta.1", "0.beta.1"),
            ],
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_invalid(
            Scheme::Rubygems,
            &[
                "junk",
                "1.0\n2.0",
                "1..2",
                "1.0-",
                "- 1",
                "1.0.0.",
                "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.",
            ],
        );
    }
}
