//! Python packages: installed distributions and declared lockfiles.
//!
//! Installed: `*.dist-info/METADATA` (wheels, pip, venvs, `--target` dirs),
//! `*.egg-info/PKG-INFO` and `EGG-INFO/PKG-INFO` (setuptools), a bare `*.egg-info` file
//! (distutils, as Debian's own `python3-*` packages install), and conda's
//! `conda-meta/*.json` records of Python packages. Declared: `requirements*.txt` (only exact
//! `==` pins name a version), `Pipfile.lock`, `poetry.lock`, `uv.lock` and PEP 751's
//! `pylock.toml` / `pylock.<name>.toml`.
//! Names are kept as written; purls use the PEP 503 normalised name, which is what
//! advisories and indexes key on (`Django_Foo` and `django-foo` are one project).

use super::language::{self, Collector, Reading, Text};
use super::{Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, WantedFile};
use crate::fs::FileType;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How much of a `METADATA`/`PKG-INFO` file is read: the headers come first, and a
/// description after them may be long (or the file a hostile 500 MB of junk).
const METADATA_PREFIX_LIMIT: u64 = 1024 * 1024;

/// Largest requirements file or conda record read.
const SMALL_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// Python distributions and lockfiles.
pub struct PythonCataloger;

/// Which format a wanted file is, decided from its path alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// Core metadata headers: `METADATA`, `PKG-INFO`, a bare `.egg-info` file.
    CoreMetadata,
    /// `conda-meta/<name>-<version>-<build>.json`.
    CondaMeta,
    /// `requirements*.txt`.
    Requirements,
    /// `Pipfile.lock` (JSON).
    PipfileLock,
    /// `poetry.lock` (TOML).
    PoetryLock,
    /// `uv.lock` (TOML).
    UvLock,
    /// `pylock.toml` or `pylock.<name>.toml` (PEP 751, TOML).
    PyLock,
}

fn format_of(candidate_path: &[u8]) -> Option<Format> {
    let mut reversed = language::components_reversed(candidate_path);
    let name = reversed.next()?;
    let parent = reversed.next().unwrap_or_default();
    match name {
        b"METADATA" if parent.ends_with(b".dist-info") => Some(Format::CoreMetadata),
        b"PKG-INFO" if parent.ends_with(b".egg-info") || parent == b"EGG-INFO" => Some(Format::CoreMetadata),
        b"Pipfile.lock" => Some(Format::PipfileLock),
        b"poetry.lock" => Some(Format::PoetryLock),
        b"uv.lock" => Some(Format::UvLock),
        _ if name.ends_with(b".egg-info") && name.len() > b".egg-info".len() => Some(Format::CoreMetadata),
        _ if parent == b"conda-meta" && name.ends_with(b".json") => Some(Format::CondaMeta),
        _ if name == b"pylock.toml"
            || (name.starts_with(b"pylock.") && name.ends_with(b".toml") && name.len() > 12) =>
        {
            Some(Format::PyLock)
        }
        _ if name.starts_with(b"requirements") && name.ends_with(b".txt") => Some(Format::Requirements),
        _ => None,
    }
}

impl Cataloger for PythonCataloger {
    fn name(&self) -> &'static str {
        "python"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && format_of(candidate.path).is_some()
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let Some(format) = format_of(file.path) else {
            return Catalogued::default();
        };
        let evidence = match format {
            Format::CoreMetadata | Format::CondaMeta => Evidence::Installed,
            _ => Evidence::Declared,
        };
        let reading = match format {
            Format::CoreMetadata => Reading::Prefix(METADATA_PREFIX_LIMIT),
            Format::CondaMeta | Format::Requirements => Reading::Whole(SMALL_FILE_LIMIT),
            _ => Reading::Whole(DEFAULT_READ_LIMIT),
        };
        language::catalog_text(file, context, self.name(), (Ecosystem::Pypi, evidence), reading, |text, collector| {
            match format {
                Format::CoreMetadata => parse_core_metadata(text, collector),
                Format::CondaMeta => parse_conda_meta(text, collector),
                Format::Requirements => parse_requirements(text, collector),
                Format::PipfileLock => parse_pipfile_lock(text, collector),
                Format::PoetryLock | Format::UvLock | Format::PyLock => parse_toml_lock(text, format, collector),
            }
        })
    }
}

/// PEP 503 normalised name: lower case, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            in_separator = true;
            continue;
        }
        if in_separator && !normalized.is_empty() {
            normalized.push('-');
        }
        in_separator = false;
        normalized.extend(character.to_lowercase());
    }
    normalized
}

/// `pkg:pypi/<normalised name>@<version>`.
fn pypi_purl(name: &str, version: &str) -> String {
    language::purl(Ecosystem::Pypi, None, &normalize_name(name), version)
}

/// PEP 508 project names: ASCII letters, digits, `-`, `_`, `.`, starting and ending with a
/// letter or digit.
fn is_project_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_alphanumeric);
    edge(bytes.first())
        && edge(bytes.last())
        && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// Core metadata (`METADATA`, `PKG-INFO`): RFC 822 style headers up to the first blank
/// line; `Name` and `Version` are required.
fn parse_core_metadata(text: &str, collector: &mut Collector) -> Result<(), String> {
    let mut name = None;
    let mut version = None;
    let mut ended = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            ended = true;
            break;
        }
        // Continuation lines (folded headers) start with white space.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("not a metadata header line: {:?}", line.chars().take(60).collect::<String>()));
        };
        if key.eq_ignore_ascii_case("name") && name.is_none() {
            name = Some(value.trim().to_string());
        } else if key.eq_ignore_ascii_case("version") && version.is_none() {
            version = Some(value.trim().to_string());
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    match (name, version) {
        (Some(name), Some(version)) => {
            collector.add(&name, &version, pypi_purl);
            Ok(())
        }
        (None, _) if !ended && text.len() as u64 >= METADATA_PREFIX_LIMIT => {
            Err(format!("no Name header in the first {METADATA_PREFIX_LIMIT} bytes"))
        }
        (None, _) => Err("no Name header".to_string()),
        (Some(_), None) => Err("no Version header".to_string()),
    }
}

#[derive(Deserialize)]
struct CondaRecord {
    #[serde(default)]
    name: Text,
    #[serde(default)]
    version: Text,
    #[serde(default)]
    depends: Vec<Text>,
    #[serde(default)]
    noarch: Text,
}

/// A conda record is a Python package when it depends on `python` (or is `noarch:
/// python`); conda's other packages (openssl, zlib) have no PyPI identity.
fn parse_conda_meta(text: &str, collector: &mut Collector) -> Result<(), String> {
    let record: CondaRecord = language::parse_json(text)?;
    let (Some(name), Some(version)) = (record.name.as_deref(), record.version.as_deref()) else {
        return Err("conda record without name or version".to_string());
    };
    let on_python = record
        .depends
        .iter()
        .filter_map(Text::as_deref)
        .any(|dependency| dependency.split_whitespace().next() == Some("python"));
    if on_python || record.noarch.as_deref() == Some("python") {
        collector.add(name, version, pypi_purl);
    }
    Ok(())
}

/// `requirements*.txt`: only `name==version` (or `===`) pins declare a version; ranges,
/// URLs, editable installs, options and includes name none and are skipped.
fn parse_requirements(text: &str, collector: &mut Collector) -> Result<(), String> {
    let mut logical = String::new();
    for raw in text.lines() {
        // A trailing backslash continues the requirement on the next line.
        if let Some(start) = raw.strip_suffix('\\') {
            logical.push_str(start);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        if let Some((name, version)) = pinned_requirement(&logical) {
            collector.add(name, version, pypi_purl);
        }
        logical.clear();
    }
    if let Some((name, version)) = pinned_requirement(&logical) {
        collector.add(name, version, pypi_purl);
    }
    Ok(())
}

/// The name and version of one pinned requirement line, if it is one.
fn pinned_requirement(line: &str) -> Option<(&str, &str)> {
    // A comment starts at `#` at the line start or after white space.
    let line = match line.find(" #").or_else(|| line.find("\t#")) {
        Some(index) => line.get(..index)?,
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let line = line.split(';').next()?.trim();
    // Per-requirement options (`--hash=…`) follow the requirement.
    let line = line.split(" --").next()?.trim();
    if line.is_empty() || line.starts_with('-') || line.contains("://") || line.contains(" @ ") {
        return None;
    }
    let (name, version) = line.split_once("==")?;
    let name = name.split('[').next()?.trim();
    let version = version.strip_prefix('=').unwrap_or(version).trim();
    let pinned = !version.is_empty()
        && !version.contains(['*', ',', '<', '>', '!', '~', '='])
        && !version.contains(char::is_whitespace);
    (is_project_name(name) && pinned).then_some((name, version))
}

#[derive(Deserialize)]
struct PipfileLock {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    #[serde(default)]
    version: Text,
}

/// `Pipfile.lock`: `default` and `develop` map names to `{"version": "==1.2.3"}`; entries
/// without a version are VCS or path installs.
fn parse_pipfile_lock(text: &str, collector: &mut Collector) -> Result<(), String> {
    let lock: PipfileLock = language::parse_json(text)?;
    for (name, entry) in lock.default.iter().chain(lock.develop.iter()) {
        if let Some(version) = entry.version.as_deref().and_then(|version| version.strip_prefix("==")) {
            collector.add(name, version, pypi_purl);
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct TomlLock {
    /// poetry and uv: `[[package]]`.
    #[serde(default)]
    package: Vec<TomlLockPackage>,
    /// PEP 751: `[[packages]]`.
    #[serde(default)]
    packages: Vec<TomlLockPackage>,
}

#[derive(Deserialize)]
struct TomlLockPackage {
    #[serde(default)]
    name: Text,
    #[serde(default)]
    version: Text,
    #[serde(default)]
    source: Option<UvSource>,
    /// PEP 751: a local directory (the project itself when editable).
    #[serde(default)]
    directory: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct UvSource {
    #[serde(default)]
    editable: Text,
    #[serde(default, rename = "virtual")]
    virtual_path: Text,
}

/// `poetry.lock`, `uv.lock` and `pylock.toml`: `[[package]]` (`[[packages]]` in PEP 751)
/// tables with `name` and `version`. uv lists the project itself (and workspace members) as
/// `editable`/`virtual` sources, PEP 751 as a `directory`: not dependencies. Both may omit
/// the version of a VCS or local package.
fn parse_toml_lock(text: &str, format: Format, collector: &mut Collector) -> Result<(), String> {
    let lock: TomlLock = language::parse_toml(text)?;
    let packages = if format == Format::PyLock { &lock.packages } else { &lock.package };
    for package in packages {
        let is_project = package.directory.is_some()
            || (format == Format::UvLock
                && package
                    .source
                    .as_ref()
                    .is_some_and(|source| source.editable.0.is_some() || source.virtual_path.0.is_some()));
        if is_project {
            continue;
        }
        match (package.name.as_deref(), package.version.as_deref()) {
            (Some(name), Some(version)) => collector.add(name, version, pypi_purl),
            (Some(_), None) if format != Format::PoetryLock => {}
            _ => collector.problem("a [[package]] entry without name or version"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::language::testing::{candidate, catalog, names, purls, yaml_alias_bomb};
    use super::*;

    #[test]
    fn wants_table() {
        let table: &[(&str, bool)] = &[
            ("/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA", true),
            ("/opt/app/.venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA", true),
            ("/usr/lib/python3/dist-packages/chardet-5.1.0.egg-info/PKG-INFO", true),
            ("/usr/lib/python3/dist-packages/six-1.16.0.egg-info", true),
            ("/site/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO", true),
            ("/opt/conda/conda-meta/numpy-1.26.0-py311h0.json", true),
            ("/srv/app/requirements.txt", true),
            ("/srv/app/requirements-dev.txt", true),
            ("/srv/app/Pipfile.lock", true),
            ("/srv/app/poetry.lock", true),
            ("/srv/app/uv.lock", true),
            ("/srv/app/pylock.toml", true),
            ("/srv/app/pylock.dev.toml", true),
            // Negatives.
            ("/srv/app/METADATA", false),
            ("/srv/app/six.dist-info/RECORD", false),
            ("/srv/app/PKG-INFO", false),
            ("/srv/app/.egg-info", false),
            ("/opt/conda/conda-meta/history", false),
            ("/opt/conda/pkgs/numpy.json", false),
            ("/srv/app/requirements.in", false),
            ("/srv/app/dev-requirements.txt", false),
            ("/srv/app/Pipfile", false),
            ("/srv/app/pyproject.toml", false),
            ("/srv/app/pylock..toml", false),
            ("/srv/app/pylock.json", false),
            ("/srv/app/Cargo.lock", false),
        ];
        for (path, expected) in table {
            assert_eq!(PythonCataloger.wants(&candidate(path)), *expected, "{path}");
        }
        let directory = Candidate { file_type: FileType::Directory, ..candidate("/x/six-1.16.0.egg-info") };
        assert!(!PythonCataloger.wants(&directory));
    }

    #[test]
    fn normalizes_names_per_pep_503() {
        assert_eq!(normalize_name("Django_Foo..Bar"), "django-foo-bar");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("A"), "a");
    }

    const METADATA: &str = "Metadata-Version: 2.1\nName: Flask_SQLAlchemy\nVersion: 3.0.5\nSummary: x\n  folded\nName: Other\n\nBody Name: no\n";

    #[test]
    fn dist_info_metadata() {
        let found = catalog(&PythonCataloger, "/s/Flask_SQLAlchemy-3.0.5.dist-info/METADATA", METADATA.as_bytes());
        assert_eq!(names(&found), ["Flask_SQLAlchemy@3.0.5"]);
        assert_eq!(purls(&found), ["pkg:pypi/flask-sqlalchemy@3.0.5"]);
        assert_eq!(found.packages[0].evidence, Evidence::Installed);
        assert_eq!(found.packages[0].locations[0].path, "/s/Flask_SQLAlchemy-3.0.5.dist-info/METADATA");
        assert!(found.problems.is_empty());
    }

    #[test]
    fn metadata_empty_truncated_garbage() {
        let path = "/s/x.dist-info/METADATA";
        assert_eq!(catalog(&PythonCataloger, path, b"").problems, ["no Name header"]);
        let truncated = catalog(&PythonCataloger, path, b"Metadata-Version: 2.1\nName: x");
        assert_eq!(truncated.problems, ["no Version header"]);
        let garbage = catalog(&PythonCataloger, path, b"\x00\x01garbage\xff\n");
        assert!(garbage.packages.is_empty());
        assert!(garbage.problems[0].contains("UTF-8"), "{:?}", garbage.problems);
        let spaces = catalog(&PythonCataloger, path, b"Name: a b\nVersion: 1\n");
        assert!(spaces.problems[0].contains("invalid name"), "{:?}", spaces.problems);
    }

    #[test]
    fn huge_metadata_reads_only_a_prefix() {
        let mut huge = b"Name: big\nVersion: 1.0\n\n".to_vec();
        huge.resize(3 * 1024 * 1024, b'x');
        let found = catalog(&PythonCataloger, "/s/big.dist-info/METADATA", &huge);
        assert_eq!(names(&found), ["big@1.0"]);
        let junk = vec![b'x'; 3 * 1024 * 1024];
        let found = catalog(&PythonCataloger, "/s/junk.dist-info/METADATA", &junk);
        assert!(found.packages.is_empty());
        assert!(found.problems[0].contains("not a metadata header"), "{:?}", found.problems);
    }

    #[test]
    fn egg_info_file_form() {
        let found = catalog(
            &PythonCataloger,
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
            b"Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n",
        );
        assert_eq!(purls(&found), ["pkg:pypi/six@1.16.0"]);
    }

    #[test]
    fn conda_records_of_python_packages_only() {
        let path = "/opt/conda/conda-meta/x.json";
        let numpy = catalog(
            &PythonCataloger,
            path,
            br#"{"name":"numpy","version":"1.26.0","depends":["python >=3.11,<3.12.0a0","libblas"]}"#,
        );
        assert_eq!(names(&numpy), ["numpy@1.26.0"]);
        let noarch =
            catalog(&PythonCataloger, path, br#"{"name":"six","version":"1.16.0","noarch":"python","depends":[]}"#);
        assert_eq!(names(&noarch), ["six@1.16.0"]);
        let openssl =
            catalog(&PythonCataloger, path, br#"{"name":"openssl","version":"3.0.12","depends":["ca-certificates"]}"#);
        assert!(openssl.packages.is_empty() && openssl.problems.is_empty());
        assert!(catalog(&PythonCataloger, path, b"{\"name\":").problems[0].contains("not valid JSON"));
        assert!(catalog(&PythonCataloger, path, b"{}").problems[0].contains("without name"));
    }

    #[test]
    fn requirements_pins_only() {
        let text = "# comment\nrequests==2.31.0\nDjango[argon2]==4.2.1 ; python_version >= \"3.8\"\nflask>=2.0\nnumpy==1.*\n\
                    -r other.txt\n-e git+https://x.example.org/a.git#egg=a\nurllib3==2.0.4 \\\n    --hash=sha256:abc\n\
                    idna===3.4  # exact\npkg @ https://x.example.org/p.whl\nbad name==1.0\nsix==1.16.0,<2\nattrs == 23.1.0";
        let found = catalog(&PythonCataloger, "/app/requirements.txt", text.as_bytes());
        assert_eq!(names(&found), ["requests@2.31.0", "Django@4.2.1", "urllib3@2.0.4", "idna@3.4", "attrs@23.1.0"]);
        assert_eq!(found.packages[1].purl, "pkg:pypi/django@4.2.1");
        assert_eq!(found.packages[0].evidence, Evidence::Declared);
        assert!(found.problems.is_empty());
        assert!(catalog(&PythonCataloger, "/app/requirements.txt", b"").packages.is_empty());
        assert!(catalog(&PythonCataloger, "/app/requirements.txt", b"requests==").packages.is_empty());
        assert!(catalog(&PythonCataloger, "/app/requirements.txt", b"\xff\xfe").problems[0].contains("UTF-8"));
    }

    #[test]
    fn pipfile_lock() {
        let text = r#"{"_meta":{"hash":{}},"default":{"requests":{"version":"==2.31.0"},"mylib":{"git":"x"}},"develop":{"pytest":{"version":"==7.4.0"}}}"#;
        let found = catalog(&PythonCataloger, "/app/Pipfile.lock", text.as_bytes());
        assert_eq!(names(&found), ["requests@2.31.0", "pytest@7.4.0"]);
        assert!(catalog(&PythonCataloger, "/app/Pipfile.lock", b"").problems[0].contains("not valid JSON"));
        assert!(
            catalog(&PythonCataloger, "/app/Pipfile.lock", br#"{"default":{"a":{"#).problems[0]
                .contains("not valid JSON")
        );
        assert!(catalog(&PythonCataloger, "/app/Pipfile.lock", b"[1,2]").problems[0].contains("not valid JSON"));
    }

    #[test]
    fn poetry_and_uv_locks() {
        let poetry = "[[package]]\nname = \"Flask\"\nversion = \"2.3.2\"\n\n[[package]]\nname = \"mylib\"\nversion = \"0.1.0\"\n[package.source]\ntype = \"git\"\nurl = \"https://git.example.org/a\"\n\n[metadata]\nlock-version = \"2.0\"\n";
        let found = catalog(&PythonCataloger, "/app/poetry.lock", poetry.as_bytes());
        assert_eq!(names(&found), ["Flask@2.3.2", "mylib@0.1.0"]);
        assert_eq!(found.packages[0].purl, "pkg:pypi/flask@2.3.2");

        let uv = "version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\n[[package]]\nname = \"idna\"\nversion = \"3.7\"\nsource = { registry = \"https://pypi.example.org/simple\" }\n\n[[package]]\nname = \"member\"\nsource = { virtual = \"packages/member\" }\n";
        let found = catalog(&PythonCataloger, "/app/uv.lock", uv.as_bytes());
        assert_eq!(names(&found), ["idna@3.7"]);
        assert!(found.problems.is_empty());

        let pylock = "lock-version = '1.0'\ncreated-by = 'pip'\n[[packages]]\nname = 'attrs'\nversion = '25.1.0'\n\n[[packages]]\nname = 'me'\ndirectory = { path = '.', editable = true }\n\n[[packages]]\nname = 'fromgit'\nvcs = { type = 'git', url = 'https://git.example.org/x.git' }\n";
        let found = catalog(&PythonCataloger, "/app/pylock.toml", pylock.as_bytes());
        assert_eq!(names(&found), ["attrs@25.1.0"]);
        assert!(found.problems.is_empty());

        assert!(catalog(&PythonCataloger, "/app/poetry.lock", b"").packages.is_empty());
        assert!(
            catalog(&PythonCataloger, "/app/poetry.lock", b"[[package]]\nname = \"x").problems[0]
                .contains("not valid TOML")
        );
        assert!(
            catalog(&PythonCataloger, "/app/uv.lock", yaml_alias_bomb().as_bytes()).problems[0]
                .contains("not valid TOML")
        );
        let missing = catalog(&PythonCataloger, "/app/poetry.lock", b"[[package]]\nname = \"x\"\n");
        assert_eq!(missing.problems, ["a [[package]] entry without name or version"]);
    }
}
