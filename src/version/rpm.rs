//! RPM versions, `[epoch:]version[-release]`, ordered as `rpmvercmp` (rpm 4.15+, with
//! `~` sorting before everything and `^` after the end but before anything else) on
//! each of epoch, version and release in turn.

use super::{Scheme, VersionError, compare_digits, split_leading};
use std::cmp::Ordering;

/// A parsed epoch-version-release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evr<'a> {
    /// Epoch digits (`""` means 0).
    pub epoch: &'a str,
    /// Version.
    pub version: &'a str,
    /// Release, when present.
    pub release: Option<&'a str>,
}

/// Parse an EVR string.
pub fn parse(text: &str) -> Result<Evr<'_>, VersionError> {
    let invalid = |reason| VersionError::invalid(Scheme::Rpm, text, reason);
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|byte| byte.is_ascii_digit()) && !epoch.is_empty() => (epoch, rest),
        Some(_) => return Err(invalid("epoch is not a number")),
        None => ("", text),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((version, release)) => (version, Some(release)),
        None => (rest, None),
    };
    if version.is_empty() || release.is_some_and(str::is_empty) {
        return Err(invalid("empty version or release"));
    }
    let allowed = |byte: u8| byte.is_ascii_graphic() && byte != b'-' && byte != b':';
    if !version.bytes().all(allowed) || !release.unwrap_or("").bytes().all(allowed) {
        return Err(invalid("character not allowed in an RPM version"));
    }
    Ok(Evr { epoch, version, release })
}

/// Order two EVRs. A release missing on either side is not compared (advisories name
/// full EVRs; `1.0` alone means "any release of 1.0").
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    let order = compare_digits(a.epoch, b.epoch).then_with(|| rpmvercmp(a.version, b.version));
    Ok(match (a.release, b.release) {
        (Some(left), Some(right)) => order.then_with(|| rpmvercmp(left, right)),
        _ => order,
    })
}

/// rpm's `rpmvercmp`: alternate digit and letter segments, separators ignored.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let separator = |byte: u8| !byte.is_ascii_alphanumeric() && byte != b'~' && byte != b'^';
    let (mut one, mut two) = (a, b);
    loop {
        one = split_leading(one, separator).1;
        two = split_leading(two, separator).1;
        let (first_one, first_two) = (one.bytes().next(), two.bytes().next());
        if first_one == Some(b'~') || first_two == Some(b'~') {
            if first_one != Some(b'~') {
                return Ordering::Greater;
            }
            if first_two != Some(b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if first_one == Some(b'^') || first_two == Some(b'^') {
            if first_one.is_none() {
                return Ordering::Less;
            }
            if first_two.is_none() {
                return Ordering::Greater;
            }
            if first_one != Some(b'^') {
                return Ordering::Greater;
            }
            if first_two != Some(b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        let (Some(byte_one), Some(_)) = (first_one, first_two) else {
            break;
        };
        let numeric = byte_one.is_ascii_digit();
        let segment: fn(u8) -> bool =
            if numeric { |byte| byte.is_ascii_digit() } else { |byte| byte.is_ascii_alphabetic() };
        let (segment_one, rest_one) = split_leading(one, segment);
        let (segment_two, rest_two) = split_leading(two, segment);
        if segment_two.is_empty() {
            // Different segment types: a number is newer than letters.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let order = if numeric { compare_digits(segment_one, segment_two) } else { segment_one.cmp(segment_two) };
        if order != Ordering::Equal {
            return order;
        }
        one = rest_one;
        two = rest_two;
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{Random, assert_ascending, assert_equal, assert_invalid};

    /// Cases from rpm's `tests/rpmvercmp.at`.
    #[test]
    fn orders_like_rpmvercmp() {
        let less = [
            ("1.0", "2.0"),
            ("2.0", "2.0.1"),
            ("2.0.1", "2.0.1a"),
            ("5.5p1", "5.5p2"),
            ("5.5p1", "5.5p10"),
            ("10xyz", "10.1xyz"),
            ("xyz10", "xyz10.1"),
            ("xyz.4", "8"),
            ("xyz.4", "2"),
            ("5.5p2", "5.6p1"),
            ("5.6p1", "6.5p1"),
            ("6.0", "6.0.rc1"),
            ("10a2", "10b2"),
            ("1.0a", "1.0aa"),
            ("10.0001", "10.0039"),
            ("4.999.9", "5.0"),
            ("20101121", "20101122"),
            ("1.0~rc1", "1.0"),
            ("1.0~rc1", "1.0~rc2"),
            ("1.0~rc1~git123", "1.0~rc1"),
            ("1.0", "1.0^"),
            ("1.0", "1.0^git1"),
            ("1.0^git1", "1.0^git2"),
            ("1.0^git1", "1.01"),
            ("1.0^20160101", "1.0.1"),
            ("1.0~rc1", "1.0^git1"),
            ("1.0^git1~pre", "1.0^git1"),
            ("a", "1"),
            ("1b.fc17", "1.fc17"),
        ];
        for (lower, higher) in less {
            assert_eq!(rpmvercmp(lower, higher), Ordering::Less, "{lower} < {higher}");
            assert_eq!(rpmvercmp(higher, lower), Ordering::Greater, "{higher} > {lower}");
        }
        for (left, right) in [
            ("1.0", "1.0"),
            ("1.0010", "1.10"),
            ("2_0", "2_0"),
            ("2.0", "2_0"),
            ("a+", "a_"),
            ("+", "_"),
            ("1.0^", "1.0^"),
        ] {
            assert_eq!(rpmvercmp(left, right), Ordering::Equal, "{left} = {right}");
        }
    }

    #[test]
    fn orders_evr() {
        assert_ascending(Scheme::Rpm, &["1.0-1", "1.0-2", "1.0-10", "1.1-1", "1:0.5-1"]);
        assert_ascending(Scheme::Rpm, &["2.0.1-1.amzn2", "2.0.1-1.amzn2.0.1", "2.0.1-2.amzn2"]);
        assert_equal(Scheme::Rpm, &[("0:1.0-1", "1.0-1"), ("1.0", "1.0-5")]);
        assert_invalid(Scheme::Rpm, &["x:1.0", "1.0-", "1.0-1-", "-1", "1 0"]);
    }

    /// Cross-check random pairs against `rpmdev-vercmp` or python `rpm` when installed.
    #[test]
    fn agrees_with_rpm_on_random_pairs() {
        let script = "import rpm,sys\nfor line in sys.stdin:\n    a,b=line.split()\n    print(rpm.labelCompare(('0',a,'1'),('0',b,'1')))\n";
        let Ok(mut child) = std::process::Command::new("/usr/bin/python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
        else {
            println!("skipped: python3 not installed");
            return;
        };
        let mut random = Random(11);
        let alphabet = b"0123456789.ab~^_";
        let mut pairs = Vec::new();
        while pairs.len() < 300 {
            let left = format!("1{}", random.string(alphabet, 6));
            let right = format!("1{}", random.string(alphabet, 6));
            pairs.push((left, right));
        }
        let input: String = pairs.iter().map(|(left, right)| format!("{left} {right}\n")).collect();
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(input.as_bytes());
        }
        let output = child.wait_with_output().expect("python3 runs");
        if !output.status.success() {
            println!("skipped: python3 rpm module not available");
            return;
        }
        let answers = String::from_utf8_lossy(&output.stdout);
        let answers: Vec<&str> = answers.lines().collect();
        assert_eq!(answers.len(), pairs.len());
        for ((left, right), answer) in pairs.iter().zip(answers) {
            let expected = match answer.trim() {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                _ => Ordering::Greater,
            };
            assert_eq!(rpmvercmp(left, right), expected, "rpm disagrees on {left} vs {right}");
        }
    }
}
