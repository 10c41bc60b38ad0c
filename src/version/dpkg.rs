//! Debian package versions, `[epoch:]upstream_version[-debian_revision]`, ordered as
//! deb-version(7) and dpkg's `verrevcmp` do: non-digit runs compare character by
//! character with letters before other characters and `~` before everything (even the
//! end), digit runs compare as numbers.

use super::{Scheme, VersionError, compare_digits, split_leading};
use std::cmp::Ordering;

/// A parsed dpkg version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpkgVersion<'a> {
    /// Epoch digits (`""` when absent, which means 0).
    pub epoch: &'a str,
    /// Upstream version.
    pub upstream: &'a str,
    /// Debian revision (`""` when absent).
    pub revision: &'a str,
}

/// Parse a dpkg version, checking the characters deb-version(7) allows.
pub fn parse(version: &str) -> Result<DpkgVersion<'_>, VersionError> {
    let invalid = |reason| VersionError::invalid(Scheme::Dpkg, version, reason);
    let trimmed = version.trim();
    let (epoch, rest) = match trimmed.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid("epoch is not a number"));
            }
            (epoch, rest)
        }
        None => ("", trimmed),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err(invalid("empty upstream version"));
    }
    if !upstream.bytes().next().is_some_and(|byte| byte.is_ascii_digit()) {
        return Err(invalid("upstream version does not start with a digit"));
    }
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'~' | b'-' | b':');
    if !upstream.bytes().all(allowed) || !revision.bytes().all(|byte| allowed(byte) && byte != b'-' && byte != b':') {
        return Err(invalid("character not allowed in a Debian version"));
    }
    if rest.ends_with('-') {
        return Err(invalid("empty revision after '-'"));
    }
    Ok(DpkgVersion { epoch, upstream, revision })
}

/// Order two dpkg versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    Ok(compare_digits(a.epoch, b.epoch)
        .then_with(|| compare_part(a.upstream, b.upstream))
        .then_with(|| compare_part(a.revision, b.revision)))
}

/// The weight of one character in a non-digit run: `~` sorts before the end of the
/// string, the end before letters, letters before everything else.
fn weight(character: Option<u8>) -> i32 {
    match character {
        None => 0,
        Some(b'~') => -1,
        Some(byte) if byte.is_ascii_digit() => 0,
        Some(byte) if byte.is_ascii_alphabetic() => i32::from(byte),
        Some(byte) => i32::from(byte) + 256,
    }
}

/// dpkg's `verrevcmp` over one part (upstream or revision).
fn compare_part(mut a: &str, mut b: &str) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        let (a_text, a_rest) = split_leading(a, |byte| !byte.is_ascii_digit());
        let (b_text, b_rest) = split_leading(b, |byte| !byte.is_ascii_digit());
        let mut a_bytes = a_text.bytes();
        let mut b_bytes = b_text.bytes();
        loop {
            let (left, right) = (a_bytes.next(), b_bytes.next());
            if left.is_none() && right.is_none() {
                break;
            }
            let order = weight(left).cmp(&weight(right));
            if order != Ordering::Equal {
                return order;
            }
        }
        let (a_number, a_after) = split_leading(a_rest, |byte| byte.is_ascii_digit());
        let (b_number, b_after) = split_leading(b_rest, |byte| byte.is_ascii_digit());
        let order = compare_digits(a_number, b_number);
        if order != Ordering::Equal {
            return order;
        }
        a = a_after;
        b = b_after;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{Random, assert_ascending, assert_equal, assert_invalid};

    /// Orderings from deb-version(7) and dpkg's own `t/dpkg_version.t`.
    #[test]
    fn orders_like_dpkg() {
        assert_ascending(Scheme::Dpkg, &["1.0~rc1", "1.0", "1.0-1", "1.0a", "1.0+b1", "1.1", "1:0.1"]);
        assert_ascending(Scheme::Dpkg, &["0~~", "0~~a", "0~", "0"]);
        assert_ascending(Scheme::Dpkg, &["1.2.3~rc1-1", "1.2.3-1", "1.2.3-1+b1", "1.2.3-1.1", "1.2.3-2"]);
        assert_ascending(Scheme::Dpkg, &["3.0.11-1~deb12u2", "3.0.11-1~deb12u3", "3.0.15-1~deb12u1", "3.0.15-1"]);
        assert_ascending(Scheme::Dpkg, &["2.36-9", "2.36-9+deb12u4", "2.36-9+deb12u10"]);
        assert_ascending(Scheme::Dpkg, &["0.9", "0.10", "0.100", "1"]);
        assert_ascending(Scheme::Dpkg, &["1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+b1", "2:1.0"]);
        assert_equal(Scheme::Dpkg, &[("0:1.0", "1.0"), ("1.0-0", "1.0-0"), ("1.01", "1.1"), ("00:1", "1")]);
    }

    #[test]
    fn rejects_malformed() {
        assert_invalid(Scheme::Dpkg, &["a:1.0", ":1.0", "1:", "abc", "1.0-", "1.0 2", "1.0_1", "-1"]);
    }

    /// Cross-check random pairs against `dpkg --compare-versions` when dpkg is installed.
    #[test]
    fn agrees_with_dpkg_on_random_pairs() {
        let Ok(probe) = std::process::Command::new("dpkg").arg("--version").output() else {
            println!("skipped: dpkg not installed");
            return;
        };
        if !probe.status.success() {
            println!("skipped: dpkg not usable");
            return;
        }
        let mut random = Random(7);
        let pieces = ["0", "1", "2", "10", "01", "a", "b", "~", "~rc1", "+", ".", "-1", "-2", "+b1", "1:", "dfsg", "z"];
        let mut checked = 0;
        for _ in 0..150 {
            let mut make = || {
                let mut text = String::from("1");
                for _ in 0..random.below(5) {
                    text.push_str(pieces[random.below(pieces.len())]);
                }
                text
            };
            let (left, right) = (make(), make());
            let Ok(ours) = compare(&left, &right) else {
                continue;
            };
            let operator = match ours {
                Ordering::Less => "lt",
                Ordering::Equal => "eq",
                Ordering::Greater => "gt",
            };
            let status = std::process::Command::new("dpkg")
                .args(["--compare-versions", &left, operator, &right])
                .stderr(std::process::Stdio::null())
                .status()
                .expect("run dpkg");
            assert!(status.success(), "dpkg disagrees: {left} {operator} {right}");
            checked += 1;
        }
        assert!(checked > 50, "only {checked} valid pairs");
    }
}
