//! Maven versions, ordered as Maven's `ComparableVersion`: the version is split at `.`,
//! `-` and digit/letter changes into a tree of numbers, qualifiers and sub-lists (each
//! `-` or digit/letter change opens a sub-list), trailing "null" items (`0`, `ga`,
//! `final`, `release`, empty) are dropped, and qualifiers order `alpha < beta <
//! milestone < rc = cr < snapshot < "" = ga = final < sp < any other (alphabetically)`.
//! Any string is a Maven version, so this scheme never rejects one.

use super::{VersionError, compare_digits};
use std::cmp::Ordering;

/// Known qualifiers in order; the empty string is the release.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// One node of the parsed tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits without leading zeros (`""` is zero).
    Number(String),
    /// A qualifier after alias resolution.
    Qualifier(String),
    /// A `-`- or transition-separated sub-list.
    List(Vec<Item>),
}

/// The sort key of a qualifier: its index among [`QUALIFIERS`], else after all of them.
fn qualifier_key(qualifier: &str) -> String {
    match QUALIFIERS.iter().position(|known| *known == qualifier) {
        Some(index) => index.to_string(),
        None => format!("{}-{qualifier}", QUALIFIERS.len()),
    }
}

impl Item {
    fn parse(text: &str, followed_by_digit: bool) -> Item {
        if text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Item::Number(text.trim_start_matches('0').to_string());
        }
        let expanded = match (text, followed_by_digit) {
            ("a", true) => "alpha",
            ("b", true) => "beta",
            ("m", true) => "milestone",
            ("ga" | "final" | "release", _) => "",
            ("cr", _) => "rc",
            (other, _) => other,
        };
        Item::Qualifier(expanded.to_string())
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Number(digits) => digits.is_empty(),
            Item::Qualifier(qualifier) => qualifier.is_empty(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compare with a missing item (the other version is shorter).
    fn compare_to_nothing(&self) -> Ordering {
        match self {
            Item::Number(digits) if digits.is_empty() => Ordering::Equal,
            Item::Number(_) => Ordering::Greater,
            Item::Qualifier(qualifier) => qualifier_key(qualifier).as_str().cmp(qualifier_key("").as_str()),
            Item::List(items) => items.first().map_or(Ordering::Equal, Item::compare_to_nothing),
        }
    }

    fn compare(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Number(left), Item::Number(right)) => compare_digits(left, right),
            (Item::Number(_), _) => Ordering::Greater,
            (Item::Qualifier(_), Item::Number(_)) => Ordering::Less,
            (Item::Qualifier(left), Item::Qualifier(right)) => qualifier_key(left).cmp(&qualifier_key(right)),
            (Item::Qualifier(_), Item::List(_)) => Ordering::Less,
            (Item::List(_), Item::Number(_)) => Ordering::Less,
            (Item::List(_), Item::Qualifier(_)) => Ordering::Greater,
            (Item::List(left), Item::List(right)) => compare_lists(left, right),
        }
    }
}

fn compare_lists(left: &[Item], right: &[Item]) -> Ordering {
    for index in 0..left.len().max(right.len()) {
        let order = match (left.get(index), right.get(index)) {
            (Some(left), Some(right)) => left.compare(right),
            (Some(left), None) => left.compare_to_nothing(),
            (None, Some(right)) => right.compare_to_nothing().reverse(),
            (None, None) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// Drop trailing null items, looking past (but not removing non-null) sub-lists.
fn normalize(items: &mut Vec<Item>) {
    let mut index = items.len();
    while index > 0 {
        index -= 1;
        match items.get(index) {
            Some(item) if item.is_null() => {
                items.remove(index);
            }
            Some(Item::List(_)) => {}
            _ => break,
        }
    }
}

/// Parse into the root list, as `ComparableVersion.parseVersion` does.
fn parse(version: &str) -> Vec<Item> {
    let lower = version.to_lowercase();
    // Each open list; a new sub-list is always the last item of its parent, so the
    // tree is rebuilt by folding this stack at the end.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut start = 0;
    let mut in_digits = false;
    let push = |stack: &mut Vec<Vec<Item>>, item: Item| {
        if let Some(current) = stack.last_mut() {
            current.push(item);
        }
    };
    for (index, character) in lower.char_indices() {
        let chunk = lower.get(start..index).unwrap_or("");
        if character == '.' || character == '-' {
            let item = if chunk.is_empty() { Item::Number(String::new()) } else { Item::parse(chunk, false) };
            push(&mut stack, item);
            start = index + character.len_utf8();
            if character == '-' {
                stack.push(Vec::new());
            }
        } else if character.is_ascii_digit() {
            if !in_digits && !chunk.is_empty() {
                push(&mut stack, Item::parse(chunk, true));
                start = index;
                stack.push(Vec::new());
            }
            in_digits = true;
        } else {
            if in_digits && !chunk.is_empty() {
                push(&mut stack, Item::parse(chunk, false));
                start = index;
                stack.push(Vec::new());
            }
            in_digits = false;
        }
    }
    if let Some(chunk) = lower.get(start..).filter(|chunk| !chunk.is_empty()) {
        push(&mut stack, Item::parse(chunk, false));
    }
    loop {
        let Some(mut list) = stack.pop() else {
            return Vec::new();
        };
        normalize(&mut list);
        match stack.last_mut() {
            Some(parent) => parent.push(Item::List(list)),
            None => return list,
        }
    }
}

/// Order two Maven versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(compare_lists(&parse(a), &parse(b)))
}

#[cfg(test)]
mod tests {
    use crate::version::Scheme;
    use crate::version::testing::{assert_ascending, assert_equal};

    /// `VERSIONS_QUALIFIER` and `VERSIONS_NUMBER` of Maven's `ComparableVersionTest`.
    #[test]
    fn orders_like_comparable_version() {
        assert_ascending(
            Scheme::Maven,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
        assert_ascending(
            Scheme::Maven,
            &[
                "2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
                "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a",
                "11b", "11c", "11m",
            ],
        );
        // Unknown qualifiers (`pr`) sort after the release, exactly as in Maven.
        assert_ascending(
            Scheme::Maven,
            &["2.9.10", "2.9.10.1", "2.9.10.8", "2.10.0", "2.10.0.pr1", "2.12.7.1", "2.13.4"],
        );
        assert_ascending(Scheme::Maven, &["31.0-android", "31.1-jre", "32.0.0-jre"]);
        assert_equal(
            Scheme::Maven,
            &[
                ("1", "1.0"),
                ("1", "1.0.0"),
                ("1.0", "1.0-0"),
                ("1-final", "1"),
                ("1-ga", "1"),
                ("1a1", "1-alpha-1"),
                ("1cr", "1rc"),
                ("1.0.0-RELEASE", "1.0"),
            ],
        );
    }
}
