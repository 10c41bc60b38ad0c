//! Composer (PHP) versions: normalised as Composer's `VersionParser::normalize` does
//! (`v1.2` → `1.2.0.0`, `1.0-b2` → `1.0.0.0-beta2`, `+build` dropped) and compared like
//! PHP's `version_compare`, where `dev < alpha < beta < RC < (number) < patch`. Branch
//! names (`dev-main`) are not ordered versions and are rejected.

use super::{Scheme, VersionError, compare_digits, split_leading};
use std::cmp::Ordering;

/// Normalise a Composer version to `N.N.N.N[-stabilityN][-dev]`.
pub fn normalize(version: &str) -> Result<String, VersionError> {
    let invalid = |reason| VersionError::invalid(Scheme::Composer, version, reason);
    let text = version.trim();
    let text = text.split_once('+').map_or(text, |(before, _)| before);
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("dev-") {
        return Err(invalid("a branch name is not an ordered version"));
    }
    let mut rest = lower.strip_prefix('v').unwrap_or(&lower);
    let mut numbers = Vec::new();
    while numbers.len() < 4 {
        let (number, after) = split_leading(rest, |byte| byte.is_ascii_digit());
        if number.is_empty() {
            break;
        }
        numbers.push(number.to_string());
        rest = after;
        match rest.strip_prefix('.') {
            Some(after_dot) if after_dot.starts_with(|character: char| character.is_ascii_digit()) => rest = after_dot,
            _ => break,
        }
    }
    if numbers.is_empty() {
        return Err(invalid("does not start with a number"));
    }
    while numbers.len() < 4 {
        numbers.push("0".to_string());
    }
    let mut normalized = numbers.join(".");
    rest = rest.strip_prefix(['.', '_', '-']).unwrap_or(rest);
    let (stability, after) = split_leading(rest, |byte| byte.is_ascii_alphabetic());
    let expanded = match stability {
        "" | "stable" => "",
        "a" | "alpha" => "alpha",
        "b" | "beta" => "beta",
        "rc" => "RC",
        "p" | "pl" | "patch" => "patch",
        "dev" => {
            if !after.is_empty() {
                return Err(invalid("text after -dev"));
            }
            return Ok(format!("{normalized}-dev"));
        }
        _ => return Err(invalid("unknown stability suffix")),
    };
    rest = after;
    let mut digits = String::new();
    loop {
        let trimmed = rest.strip_prefix(['.', '-']).unwrap_or(rest);
        let (number, after_number) = split_leading(trimmed, |byte| byte.is_ascii_digit());
        if number.is_empty() {
            break;
        }
        if !digits.is_empty() {
            digits.push('.');
        }
        digits.push_str(number);
        rest = after_number;
    }
    if !expanded.is_empty() {
        normalized.push('-');
        normalized.push_str(expanded);
        normalized.push_str(&digits);
    } else if !digits.is_empty() {
        return Err(invalid("number after a stable version"));
    }
    let rest = rest.strip_prefix(['.', '-']).unwrap_or(rest);
    match rest {
        "" => Ok(normalized),
        "dev" => Ok(format!("{normalized}-dev")),
        _ => Err(invalid("unexpected characters")),
    }
}

/// PHP's special forms; a number ranks 4, anything unknown below `dev`.
fn special_rank(token: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS.iter().find(|(name, _)| token.starts_with(name)).map_or(-1, |(_, rank)| *rank)
}

/// PHP `version_compare` over canonical tokens (digit runs and other runs).
fn version_compare(a: &str, b: &str) -> Ordering {
    let tokens = |text: &str| -> Vec<String> {
        let mut tokens: Vec<String> = Vec::new();
        let mut previous_digit: Option<bool> = None;
        for character in text.chars() {
            if !character.is_ascii_alphanumeric() {
                previous_digit = None;
                continue;
            }
            let digit = character.is_ascii_digit();
            match tokens.last_mut() {
                Some(token) if previous_digit == Some(digit) => token.push(character),
                _ => tokens.push(character.to_string()),
            }
            previous_digit = Some(digit);
        }
        tokens
    };
    let rank = |token: &str| {
        if token.starts_with(|c: char| c.is_ascii_digit()) { 4 } else { special_rank(token) }
    };
    let (a, b) = (tokens(a), tokens(b));
    for (left, right) in a.iter().zip(&b) {
        let left_digit = left.starts_with(|c: char| c.is_ascii_digit());
        let right_digit = right.starts_with(|c: char| c.is_ascii_digit());
        let order = if left_digit && right_digit { compare_digits(left, right) } else { rank(left).cmp(&rank(right)) };
        if order != Ordering::Equal {
            return order;
        }
    }
    match (a.get(b.len()), b.get(a.len())) {
        (Some(extra), _) => rank(extra).cmp(&4).then(Ordering::Greater),
        (_, Some(extra)) => 4.cmp(&rank(extra)).then(Ordering::Less),
        _ => Ordering::Equal,
    }
}

/// Order two Composer versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(version_compare(&normalize(a)?, &normalize(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// Normalisations from Composer's `VersionParserTest::successfulNormalizedVersions`.
    #[test]
    fn normalizes_like_composer() {
        for (input, expected) in [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("0", "0.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("v1.0.0", "1.0.0.0"),
            ("2.0.0+build.1", "2.0.0.0"),
            ("1.0.0-alpha3.1", "1.0.0.0-alpha3.1"),
        ] {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn orders_like_version_compare() {
        assert_ascending(
            Scheme::Composer,
            &[
                "1.0.0-dev",
                "1.0.0-alpha1",
                "1.0.0-alpha2",
                "1.0.0-beta1",
                "1.0.0-RC1",
                "1.0.0",
                "1.0.0-patch1",
                "1.0.1",
                "1.0.10",
                "2.0",
            ],
        );
        assert_ascending(Scheme::Composer, &["5.4.49", "5.4.50", "6.0.0-beta1", "6.4.14", "10.48.29"]);
        assert_equal(Scheme::Composer, &[("v1.0", "1.0.0.0"), ("1.0.0-b2", "1.0.0-beta2"), ("1.0-stable", "1.0")]);
        assert_invalid(Scheme::Composer, &["dev-main", "abc", "1.0-foo", "1.0.0-dev1"]);
    }
}
