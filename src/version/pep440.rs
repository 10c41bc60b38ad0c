//! Python versions under PEP 440: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`,
//! read with the spec's normalisations (case, `alpha`/`c`/`pre`/`preview`, `-N` posts,
//! `-`/`_`/`.` separators, implicit 0 numbers, a leading `v`) and ordered as
//! `packaging.version` does: `1.0.dev0 < 1.0a1 < 1.0 < 1.0.post1 < 1.0+local`.

use super::{Scheme, VersionError, compare_digits, split_leading};
use std::cmp::Ordering;

/// A parsed PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pep440Version {
    epoch: String,
    release: Vec<String>,
    pre: Option<(u8, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Vec<String>,
}

/// A cursor over the lower-cased version text.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn number(&mut self) -> Option<&'a str> {
        let (digits, rest) = split_leading(self.rest, |byte| byte.is_ascii_digit());
        if digits.is_empty() {
            return None;
        }
        self.rest = rest;
        Some(digits)
    }

    /// Take an optional separator then one of `words`; on no match, consume nothing.
    fn word(&mut self, words: &[&str]) -> Option<&'a str> {
        let after_separator = self.rest.strip_prefix(['-', '_', '.']).unwrap_or(self.rest);
        // Longest first so `preview` is not read as `pre` + `view`.
        let mut sorted: Vec<&&str> = words.iter().collect();
        sorted.sort_by_key(|word| std::cmp::Reverse(word.len()));
        for word in sorted {
            if let Some(rest) = after_separator.strip_prefix(*word) {
                let matched = &after_separator[..word.len()];
                self.rest = rest;
                return Some(matched);
            }
        }
        None
    }

    /// The optional number after a pre/post/dev word (implicitly 0).
    fn implicit_number(&mut self) -> String {
        let saved = self.rest;
        self.rest = self.rest.strip_prefix(['-', '_', '.']).unwrap_or(self.rest);
        match self.number() {
            Some(number) => number.to_string(),
            None => {
                self.rest = saved;
                "0".to_string()
            }
        }
    }
}

fn parse(version: &str) -> Result<Pep440Version, VersionError> {
    let invalid = |reason| VersionError::invalid(Scheme::Pep440, version, reason);
    let lower = version.trim().to_ascii_lowercase();
    let mut cursor = Cursor { rest: lower.strip_prefix('v').unwrap_or(&lower) };
    let first = cursor.number().ok_or_else(|| invalid("does not start with a number"))?;
    let (epoch, mut release) = match cursor.rest.strip_prefix('!') {
        Some(rest) => {
            cursor.rest = rest;
            let number = cursor.number().ok_or_else(|| invalid("no release after the epoch"))?;
            (first.to_string(), vec![number.to_string()])
        }
        None => ("0".to_string(), vec![first.to_string()]),
    };
    while let Some(rest) = cursor.rest.strip_prefix('.') {
        let saved = cursor.rest;
        cursor.rest = rest;
        match cursor.number() {
            Some(number) => release.push(number.to_string()),
            None => {
                cursor.rest = saved;
                break;
            }
        }
    }
    let pre = cursor.word(&["alpha", "a", "beta", "b", "rc", "c", "preview", "pre"]).map(|word| {
        let rank = match word {
            "alpha" | "a" => 0,
            "beta" | "b" => 1,
            _ => 2,
        };
        (rank, cursor.implicit_number())
    });
    let post = if let Some(rest) =
        cursor.rest.strip_prefix('-').filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    {
        cursor.rest = rest;
        cursor.number().map(str::to_string)
    } else {
        cursor.word(&["post", "rev", "r"]).map(|_| cursor.implicit_number())
    };
    let dev = cursor.word(&["dev"]).map(|_| cursor.implicit_number());
    let local = match cursor.rest.strip_prefix('+') {
        Some(rest) => {
            let segments: Vec<String> = rest.split(['.', '-', '_']).map(str::to_string).collect();
            if segments
                .iter()
                .any(|segment| segment.is_empty() || !segment.bytes().all(|byte| byte.is_ascii_alphanumeric()))
            {
                return Err(invalid("local version segments must be alphanumeric"));
            }
            cursor.rest = "";
            segments
        }
        None => Vec::new(),
    };
    if !cursor.rest.is_empty() {
        return Err(invalid("unexpected characters"));
    }
    Ok(Pep440Version { epoch, release, pre, post, dev, local })
}

/// A position in `packaging`'s sort key where "absent" sorts below or above any value.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<T> {
    Below,
    Value(T),
    Above,
}

/// Digits as a key that orders numerically.
#[derive(Debug, PartialEq, Eq)]
struct Number<'a>(&'a str);

impl PartialOrd for Number<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_digits(self.0, other.0)
    }
}

/// One local-version segment: numbers sort after strings.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment<'a> {
    Text(&'a str),
    Number(Number<'a>),
}

impl Pep440Version {
    fn pre_key(&self) -> Bound<(u8, Number<'_>)> {
        match (&self.pre, &self.post, &self.dev) {
            // `1.0.dev0` sorts before `1.0a0`.
            (None, None, Some(_)) => Bound::Below,
            (None, _, _) => Bound::Above,
            (Some((rank, number)), _, _) => Bound::Value((*rank, Number(number))),
        }
    }

    fn post_key(&self) -> Bound<Number<'_>> {
        self.post.as_deref().map_or(Bound::Below, |number| Bound::Value(Number(number)))
    }

    fn dev_key(&self) -> Bound<Number<'_>> {
        self.dev.as_deref().map_or(Bound::Above, |number| Bound::Value(Number(number)))
    }

    fn local_key(&self) -> Vec<LocalSegment<'_>> {
        self.local
            .iter()
            .map(|segment| {
                if segment.bytes().all(|byte| byte.is_ascii_digit()) {
                    LocalSegment::Number(Number(segment))
                } else {
                    LocalSegment::Text(segment)
                }
            })
            .collect()
    }

    fn release_key(&self) -> Vec<Number<'_>> {
        let mut release: Vec<Number<'_>> = self.release.iter().map(|part| Number(part)).collect();
        while release.last().is_some_and(|part| part.0.trim_start_matches('0').is_empty()) {
            release.pop();
        }
        release
    }
}

/// Order two PEP 440 versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(a)?;
    let b = parse(b)?;
    Ok(compare_digits(&a.epoch, &b.epoch)
        .then_with(|| a.release_key().cmp(&b.release_key()))
        .then_with(|| a.pre_key().cmp(&b.pre_key()))
        .then_with(|| a.post_key().cmp(&b.post_key()))
        .then_with(|| a.dev_key().cmp(&b.dev_key()))
        .then_with(|| a.local_key().cmp(&b.local_key())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::testing::{assert_ascending, assert_equal, assert_invalid};

    /// The ordering example of PEP 440 ("Summary of permitted suffixes and relative
    /// ordering") and `packaging`'s test_version.py.
    #[test]
    fn orders_like_packaging() {
        assert_ascending(
            Scheme::Pep440,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
                "1!0.1",
            ],
        );
        assert_ascending(Scheme::Pep440, &["2.31.0", "2.32.0", "2.32.3", "10.0"]);
        assert_equal(
            Scheme::Pep440,
            &[
                ("1.0", "1.0.0"),
                ("1.0a1", "1.0.alpha.1"),
                ("1.0c1", "1.0rc1"),
                ("1.0-pre1", "1.0rc1"),
                ("1.0preview2", "1.0rc2"),
                ("1.0-1", "1.0.post1"),
                ("1.0.rev1", "1.0.post1"),
                ("1.0.post", "1.0.post0"),
                ("v1.0", "1.0"),
                ("1.0.DEV", "1.0.dev0"),
                ("0!1.0", "1.0"),
                ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ],
        );
    }

    /// Cross-check random versions against `packaging.version` (the reference
    /// implementation) in the test virtualenv that `scripts/test.sh` installs.
    #[test]
    fn agrees_with_packaging_on_random_pairs() {
        let python = crate::test_fixtures::repository_root().join(".venv/bin/python");
        let script = "import sys\nfrom packaging.version import Version, InvalidVersion\ndef v(t):\n    try:\n        return Version(t)\n    except InvalidVersion:\n        return None\nfor line in sys.stdin:\n    a, b = line.rstrip('\\n').split(' ')\n    x, y = v(a), v(b)\n    if x is None or y is None:\n        print('invalid' if x is None else 'valid', 'invalid' if y is None else 'valid')\n    else:\n        print((x > y) - (x < y))\n";
        let Ok(mut child) = std::process::Command::new(&python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            println!("skipped: {} not present (scripts/test.sh creates it)", python.display());
            return;
        };
        let pieces = [
            "1", "0", "2", "10", ".1", ".0", "a1", "b", "rc2", "c1", ".post1", "-1", ".dev0", "dev", "+local", "+1.a",
            "!", "alpha", "pre",
        ];
        let mut random = crate::version::testing::Random(440);
        let mut pairs = Vec::new();
        while pairs.len() < 400 {
            let mut make = || {
                let mut text = String::from("1");
                for _ in 0..random.below(5) {
                    text.push_str(pieces[random.below(pieces.len())]);
                }
                text
            };
            pairs.push((make(), make()));
        }
        let input: String = pairs.iter().map(|(left, right)| format!("{left} {right}\n")).collect();
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin.write_all(input.as_bytes()).expect("write to python");
        }
        let output = child.wait_with_output().expect("python runs");
        assert!(output.status.success(), "python failed");
        let answers = String::from_utf8_lossy(&output.stdout);
        let mut compared = 0;
        for ((left, right), answer) in pairs.iter().zip(answers.lines()) {
            let ours = compare(left, right);
            match answer.trim() {
                "-1" | "0" | "1" => {
                    let expected = match answer.trim() {
                        "-1" => Ordering::Less,
                        "0" => Ordering::Equal,
                        _ => Ordering::Greater,
                    };
                    assert_eq!(ours, Ok(expected), "packaging orders {left} vs {right} as {answer}");
                    compared += 1;
                }
                validity => {
                    let expected_left = validity.starts_with("valid");
                    let expected_right = validity.ends_with(" valid");
                    assert_eq!(parse(left).is_ok(), expected_left, "validity of {left}");
                    assert_eq!(parse(right).is_ok(), expected_right, "validity of {right}");
                }
            }
        }
        assert!(compared > 100, "only {compared} valid pairs");
    }

    #[test]
    fn rejects_malformed() {
        assert_invalid(Scheme::Pep440, &["a", "1.0x", "1.0+", "1.0+a..b", "1!", "1.0-beta-", "1.0 junk", "=1.0"]);
    }
}
