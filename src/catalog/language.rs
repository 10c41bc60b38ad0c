//! Shared pieces of the language-package catalogers (`python`, `npm`, `cargo_lock`, `ruby`,
//! `php`, `dotnet`).
//!
//! Every one of them reads a manifest or lockfile an attacker may have written, so the
//! reading, decoding and bounded parsing live here once: a capped whole-file or prefix read,
//! UTF-8 decoding, JSON/TOML/YAML parsing with the parsers' own depth limits (and YAML alias
//! and node budgets), a lenient string field that ignores values of the wrong type instead of
//! failing the whole file, the purl builder, and a [`Collector`] that validates, deduplicates
//! and stamps each package with its location, cataloger and evidence.

use super::{CatalogContext, Catalogued, Ecosystem, Evidence, Package, WantedFile, purl_encode};
use crate::fs::{FileReader, FsError};
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeSet;

/// Longest package name or version kept; anything longer is broken or hostile.
pub const FIELD_LIMIT: usize = 256;

/// Most problems listed one by one for a file; the rest are counted.
const PROBLEM_LIMIT: usize = 5;

/// Most YAML nodes in one document: generous for monorepo lockfiles, bounded for bombs.
const YAML_NODE_LIMIT: usize = 4_000_000;

/// Most events replayed through YAML aliases: lockfiles hardly use aliases, and a billion
/// laughs document hits this bound in milliseconds.
const YAML_ALIAS_REPLAY_LIMIT: usize = 100_000;

/// Package URL for a language package: `pkg:TYPE[/NAMESPACE]/NAME@VERSION`, each part
/// percent-encoded (so an npm scope `@types` becomes `%40types`).
pub fn purl(ecosystem: Ecosystem, namespace: Option<&str>, name: &str, version: &str) -> String {
    let mut text = format!("pkg:{}/", ecosystem.purl_type());
    if let Some(namespace) = namespace.filter(|namespace| !namespace.is_empty()) {
        for segment in namespace.split('/').filter(|segment| !segment.is_empty()) {
            text.push_str(&purl_encode(segment));
            text.push('/');
        }
    }
    text.push_str(&purl_encode(name));
    text.push('@');
    text.push_str(&purl_encode(version));
    text
}

/// True when `value` can be a package name or version: non-empty, short, no control
/// characters or spaces (which no ecosystem allows and which would garble reports).
pub fn is_plausible(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= FIELD_LIMIT
        && !value.chars().any(|character| character.is_control() || character.is_whitespace())
}

/// Collects the packages of one file: validates each name and version, drops exact
/// duplicates (a lockfile names a package once per dependent), and records problems.
pub struct Collector {
    found_by: &'static str,
    ecosystem: Ecosystem,
    evidence: Evidence,
    location: super::Location,
    seen: BTreeSet<(String, String)>,
    result: Catalogued,
    rejected: usize,
}

impl Collector {
    /// A collector for the file at `path`, found by `found_by`.
    pub fn new(
        found_by: &'static str,
        ecosystem: Ecosystem,
        evidence: Evidence,
        context: &CatalogContext<'_>,
        path: &str,
    ) -> Self {
        Self {
            found_by,
            ecosystem,
            evidence,
            location: context.location(path),
            seen: BTreeSet::new(),
            result: Catalogued::default(),
            rejected: 0,
        }
    }

    /// Add a package whose purl `make_purl(name, version)` builds.
    pub fn add(&mut self, name: &str, version: &str, make_purl: fn(&str, &str) -> String) {
        self.add_with_arch(name, version, None, make_purl);
    }

    /// Add a package with an architecture or platform (RubyGems platforms).
    pub fn add_with_arch(
        &mut self,
        name: &str,
        version: &str,
        arch: Option<&str>,
        make_purl: fn(&str, &str) -> String,
    ) {
        let (name, version) = (name.trim(), version.trim());
        if !is_plausible(name) || !is_plausible(version) {
            self.rejected = self.rejected.saturating_add(1);
            if self.rejected <= PROBLEM_LIMIT {
                let shorten = |value: &str| value.chars().take(60).collect::<String>();
                self.result.problems.push(format!(
                    "skipped an entry with an invalid name or version: name {:?}, version {:?}",
                    shorten(name),
                    shorten(version)
                ));
            }
            return;
        }
        if !self.seen.insert((name.to_string(), version.to_string())) {
            return;
        }
        self.result.packages.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            ecosystem: self.ecosystem,
            purl: make_purl(name, version),
            arch: arch.filter(|arch| is_plausible(arch)).map(str::to_string),
            source_name: None,
            source_version: None,
            epoch: None,
            release: None,
            status: None,
            distro: None,
            locations: vec![self.location.clone()],
            found_by: self.found_by.to_string(),
            evidence: self.evidence,
        });
    }

    /// Record a problem with the file.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.result.problems.push(message.into());
    }

    /// The packages and problems.
    pub fn finish(mut self) -> Catalogued {
        if self.rejected > PROBLEM_LIMIT {
            self.result.problems.push(format!(
                "{} more entries with an invalid name or version skipped",
                self.rejected - PROBLEM_LIMIT
            ));
        }
        self.result
    }
}

/// A [`FileReader`] that shows only the first `limit` bytes of another.
struct Prefix<'a> {
    inner: &'a mut dyn FileReader,
    limit: u64,
}

impl FileReader for Prefix<'_> {
    fn size(&self) -> u64 {
        self.inner.size().min(self.limit)
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let remaining = usize::try_from(self.size().saturating_sub(offset)).unwrap_or(usize::MAX);
        let wanted = buf.len().min(remaining);
        match buf.get_mut(..wanted) {
            Some(window) if !window.is_empty() => self.inner.read_at(offset, window),
            _ => Ok(0),
        }
    }
}

/// How much of a file its parser reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The whole file, refused when over this many bytes.
    Whole(u64),
    /// At most this many bytes from the start (the rest is not needed).
    Prefix(u64),
}

/// The body every language cataloger's `catalog` shares: read the file as text, let
/// `parse` fill a [`Collector`], and record a read or parse failure as the file's problem
/// (next to whatever packages were collected before it).
pub fn catalog_text(
    file: &mut WantedFile<'_>,
    context: &CatalogContext<'_>,
    found_by: &'static str,
    (ecosystem, evidence): (Ecosystem, Evidence),
    reading: Reading,
    parse: impl FnOnce(&str, &mut Collector) -> Result<(), String>,
) -> Catalogued {
    let mut collector = Collector::new(found_by, ecosystem, evidence, context, &file.display_path());
    let text = match reading {
        Reading::Whole(limit) => read_text(file, limit),
        Reading::Prefix(limit) => read_text_prefix(file, limit),
    };
    if let Err(message) = text.and_then(|text| parse(&text, &mut collector)) {
        collector.problem(message);
    }
    collector.finish()
}

/// The whole file as text, refusing files over `limit` bytes or not UTF-8.
fn read_text(file: &mut WantedFile<'_>, limit: u64) -> Result<String, String> {
    let bytes = file.bytes(limit).map_err(|error| format!("cannot read: {error}"))?;
    decode(bytes)
}

/// At most the first `limit` bytes of the file as text (for formats whose useful part is
/// at the start, like `METADATA` headers before a long description).
fn read_text_prefix(file: &mut WantedFile<'_>, limit: u64) -> Result<String, String> {
    let cut = file.reader.size() > limit;
    let mut prefix = Prefix { inner: &mut *file.reader, limit };
    let bytes = crate::fs::read_all(&mut prefix, limit).map_err(|error| format!("cannot read: {error}"))?;
    // A cut may split a character; the headers before it are what matters.
    if cut { Ok(String::from_utf8_lossy(&bytes).into_owned()) } else { decode(bytes) }
}

/// Bytes to text: UTF-8 required, a leading byte-order mark (common in .NET files) dropped.
fn decode(bytes: Vec<u8>) -> Result<String, String> {
    let text = String::from_utf8(bytes)
        .map_err(|error| format!("not UTF-8 text (invalid byte at offset {})", error.utf8_error().valid_up_to()))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Parse JSON (serde_json stops nesting at 128 levels).
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|error| format!("not valid JSON: {error}"))
}

/// Parse TOML (the parser bounds nesting depth itself).
pub fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|error| format!("not valid TOML: {}", error.message()))
}

/// Parse every document of a YAML stream under serde-saphyr's budget: nesting depth, node
/// count and alias replay are limited, so an alias bomb is an error, not an explosion.
pub fn parse_yaml_documents<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: YAML_NODE_LIMIT,
            max_events: YAML_NODE_LIMIT.saturating_mul(2),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: YAML_ALIAS_REPLAY_LIMIT,
        },
        with_snippet: false,
    };
    serde_saphyr::from_multiple_with_options(text, options).map_err(|error| {
        let message: String = error.to_string().chars().take(300).collect();
        format!("not valid YAML: {message}")
    })
}

/// A string field read leniently: a string is kept, any other value (number, list, map,
/// null) is skipped without failing the rest of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text(pub Option<String>);

impl Text {
    /// The string, if the field held one.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Text, E> {
                Ok(Text(Some(value.to_string())))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Text, E> {
                Ok(Text(Some(value)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
                deserializer.deserialize_any(TextVisitor)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Text, A::Error> {
                while sequence.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// Path components of a candidate, last first, for `wants` rules on parent directories.
pub fn components_reversed(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    crate::fs::path::components(path).rev()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Running a cataloger on one in-memory file, for the catalogers' unit tests.
    use super::super::{Candidate, CatalogContext, Cataloger, Catalogued, WantedFile};
    use crate::fs::FileType;
    use crate::fs::testing::MemoryFilesystem;

    /// A regular-file candidate at `path`.
    pub fn candidate(path: &str) -> Candidate<'_> {
        Candidate {
            path: path.as_bytes(),
            file_type: FileType::Regular,
            size: 100,
            mode: 0o644,
            installed_by_native_package: false,
        }
    }

    /// Catalog `contents` as the file at `path`.
    pub fn catalog(cataloger: &dyn Cataloger, path: &str, contents: &[u8]) -> Catalogued {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file(path, contents);
        let context = CatalogContext { volume: "test.img", ..crate::catalog::testing::context(&filesystem) };
        let opened = crate::fs::Filesystem::open(&filesystem, path.as_bytes());
        let mut reader = match opened {
            Ok(reader) => reader,
            Err(error) => panic!("open {path}: {error}"),
        };
        let mut file = WantedFile { path: path.as_bytes(), reader: reader.as_mut() };
        cataloger.catalog(&mut file, &context)
    }

    /// `name@version` of each package, in order.
    pub fn names(catalogued: &Catalogued) -> Vec<String> {
        catalogued.packages.iter().map(|package| format!("{}@{}", package.name, package.version)).collect()
    }

    /// Purls of each package, in order.
    pub fn purls(catalogued: &Catalogued) -> Vec<String> {
        catalogued.packages.iter().map(|package| package.purl.clone()).collect()
    }

    /// A JSON value nested `depth` arrays deep.
    pub fn deep_json(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    /// A YAML "billion laughs" document.
    pub fn yaml_alias_bomb() -> String {
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut previous = "a";
        for name in names {
            text.push_str(&format!("{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"));
            previous = name;
        }
        text.push_str("packages: *i\n");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_encodes_each_part() {
        assert_eq!(purl(Ecosystem::Npm, Some("@types"), "node", "18.0.0"), "pkg:npm/%40types/node@18.0.0");
        assert_eq!(
            purl(Ecosystem::Composer, Some("symfony"), "console", "v5.4.0"),
            "pkg:composer/symfony/console@v5.4.0"
        );
        assert_eq!(purl(Ecosystem::Cargo, None, "serde", "1.0.0+x"), "pkg:cargo/serde@1.0.0%2Bx");
        assert_eq!(purl(Ecosystem::Pypi, Some(""), "a", "1"), "pkg:pypi/a@1");
    }

    #[test]
    fn plausible_values() {
        assert!(is_plausible("1.2.3"));
        assert!(!is_plausible(""));
        assert!(!is_plausible("a b"));
        assert!(!is_plausible("a\u{7}"));
        assert!(!is_plausible(&"x".repeat(FIELD_LIMIT + 1)));
    }

    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        version: Text,
    }

    #[test]
    fn text_ignores_values_of_other_types() {
        let entries: Vec<Entry> =
            parse_json(r#"[{"version":"1"},{"version":2},{"version":{"a":[1]}},{"version":null},{}]"#).unwrap();
        let versions: Vec<Option<&str>> = entries.iter().map(|entry| entry.version.as_deref()).collect();
        assert_eq!(versions, vec![Some("1"), None, None, None, None]);
        let toml: Entry = parse_toml("version = 3").unwrap();
        assert_eq!(toml.version, Text(None));
    }

    #[test]
    fn parsers_refuse_deep_nesting_and_bombs() {
        assert!(parse_json::<serde_json::Value>(&testing::deep_json(100_000)).unwrap_err().contains("recursion limit"));
        let deep_toml = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_toml::<toml::Table>(&deep_toml).is_err());
        let error = parse_yaml_documents::<IgnoredAny>(&testing::yaml_alias_bomb()).unwrap_err();
        assert!(error.starts_with("not valid YAML"), "{error}");
        let deep_yaml = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_yaml_documents::<IgnoredAny>(&deep_yaml).is_err());
    }

    #[test]
    fn decode_drops_byte_order_mark_and_refuses_invalid_utf8() {
        assert_eq!(decode(b"\xef\xbb\xbf{}".to_vec()).unwrap(), "{}");
        assert!(decode(b"ab\xff".to_vec()).unwrap_err().contains("offset 2"));
    }
}

#[cfg(test)]
mod corpus {
    //! Every real lockfile and metadata file in `../shared/data/pkgdb` (test data of other
    //! scanners) goes through the matching cataloger: each parses into packages, or yields
    //! a clear problem, or is one of the files that by name hold none; files named
    //! `one-package`/`two-packages` must give exactly that many.
    use super::super::Cataloger;
    use super::testing::catalog;
    use std::path::{Path, PathBuf};

    /// The file name each upstream test-data folder's files stand for (`None`: the file
    /// keeps its own path, which is already one a cataloger wants).
    fn stands_for(folder: &str) -> Option<Option<&'static str>> {
        Some(match folder {
            "bundler" | "gemfilelock" => Some("/app/Gemfile.lock"),
            "cargo" | "cargolock" => Some("/app/Cargo.lock"),
            "composer" | "composerlock" => Some("/app/composer.lock"),
            "core_deps" | "depsjson" => Some("/app/App.deps.json"),
            "lock" | "packageslockjson" => Some("/app/packages.lock.json"),
            "gemspec" => Some("/gems/specifications/x.gemspec"),
            "npm" | "packagelockjson" => Some("/app/package-lock.json"),
            "packagejson" => Some("/app/node_modules/x/package.json"),
            "pipenv" | "pipfilelock" => Some("/app/Pipfile.lock"),
            "pnpm" | "pnpmlock" => Some("/app/pnpm-lock.yaml"),
            "poetry" | "poetrylock" => Some("/app/poetry.lock"),
            "uv" | "uvlock" => Some("/app/uv.lock"),
            "pylock" => Some("/app/pylock.toml"),
            "requirements" => Some("/app/requirements.txt"),
            "wheelegg" | "packaging" => Some("/site/x.dist-info/METADATA"),
            "yarn" | "yarnlock" => Some("/app/yarn.lock"),
            "fix" | "python" | "dotnet" | "pe" => None,
            _ => return None,
        })
    }

    fn files_under(root: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(root) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, found);
            } else {
                found.push(path);
            }
        }
    }

    #[test]
    fn shared_pkgdb_corpus() {
        // Worktrees outside the repository's usual place can point at the data directly.
        let data = std::env::var_os("SNAPSCAN_SHARED_DATA")
            .map_or_else(|| crate::test_fixtures::repository_root().join("../shared/data"), PathBuf::from);
        if !data.is_dir() {
            println!("skipped: ../shared/data not present");
            return;
        }
        let catalogers = super::super::all();
        let mut files = Vec::new();
        for ecosystem in ["python", "npm", "rust", "ruby", "php", "dotnet"] {
            files_under(&data.join("pkgdb").join(ecosystem), &mut files);
        }
        files.sort();
        let (mut parsed, mut with_problems, mut silent) = (0, 0, Vec::new());
        for file in &files {
            let text = file.to_string_lossy();
            let Some(folder) = text.split("/testdata").next().and_then(|head| head.rsplit('/').next()) else {
                continue;
            };
            let Some(mapping) = stands_for(folder) else { continue };
            let relative = text.split("/pkgdb").nth(1).unwrap_or_default().to_string();
            let path = mapping.map(str::to_string).unwrap_or(relative);
            let candidate = super::testing::candidate(&path);
            let Some(cataloger) = catalogers.iter().find(|cataloger| cataloger.wants(&candidate)) else { continue };
            let contents = std::fs::read(file).unwrap();
            let result = catalog(cataloger.as_ref() as &dyn Cataloger, &path, &contents);
            let stem = file.file_name().unwrap_or_default().to_string_lossy().to_string();
            println!(
                "{:>4} packages {:>2} problems  {}  {:?}",
                result.packages.len(),
                result.problems.len(),
                text.split("/pkgdb/").nth(1).unwrap_or_default(),
                result.problems.first()
            );
            if stem.starts_with("one-package") && !stem.contains("dev") {
                assert_eq!(result.packages.len(), 1, "{text}");
            }
            // Crates without a source (workspace members, path dependencies) are the
            // project itself and are deliberately not reported.
            if stem.starts_with("two-packages") && !stem.contains("with-local") {
                assert_eq!(result.packages.len(), 2, "{text}");
            }
            if !result.problems.is_empty() {
                with_problems += 1;
            } else if !result.packages.is_empty() {
                parsed += 1;
            } else {
                silent.push(stem);
            }
        }
        // A file that gives neither packages nor a problem must say by its name why.
        const EMPTY_BY_NAME: [&str; 11] = [
            "just-self",
            "empty",
            "no-",
            "no_",
            "missing",
            "invalid",
            "malformed",
            "loop",
            "metadata-only",
            "broken_link",
            "files.",
        ];
        for stem in &silent {
            assert!(EMPTY_BY_NAME.iter().any(|reason| stem.contains(reason)), "{stem} gave no packages and no problem");
        }
        println!(
            "corpus: {parsed} files parsed, {with_problems} with problems, {} with neither: {silent:?}",
            silent.len()
        );
        assert!(parsed > 100, "{parsed}");
    }
}
