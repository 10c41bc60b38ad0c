//! Node.js packages: installed `node_modules` and declared lockfiles.
//!
//! Installed: `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`
//! at any depth (nested `node_modules`, pnpm's `.pnpm` store), never a project's own
//! `package.json` outside `node_modules`, nor a `package.json` deeper inside a package
//! (those mark sub-folders, not packages), nor anything under `node_modules/.cache`.
//! Declared: `package-lock.json`/`npm-shrinkwrap.json` (v1 nested `dependencies`, v2/v3
//! `packages`), `yarn.lock` (classic and berry, read line by line since classic is not
//! YAML) and `pnpm-lock.yaml` (v5 to v9 key forms). Lockfiles shipped inside `node_modules`
//! belong to some dependency's development, not to what is installed, and are skipped.
//! Workspace members, links and local folders are the project itself and are skipped too.

use super::language::{self, Collector, Reading, Text};
use super::{Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, WantedFile};
use crate::fs::FileType;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest installed `package.json` read (real ones are a few KiB).
const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;

/// Node.js packages from `node_modules` and lockfiles.
pub struct NpmCataloger;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `node_modules/[@scope/]name/package.json`.
    InstalledManifest,
    /// `package-lock.json` or `npm-shrinkwrap.json`.
    PackageLock,
    /// `yarn.lock`, classic or berry.
    YarnLock,
    /// `pnpm-lock.yaml`.
    PnpmLock,
}

fn format_of(path: &[u8]) -> Option<Format> {
    let components: Vec<&[u8]> = crate::fs::path::components(path).collect();
    // Caches of tools (babel, eslint, webpack) live in node_modules/.cache and hold
    // copies that are not installed packages.
    if components.windows(2).any(|pair| pair == [b"node_modules".as_slice(), b".cache".as_slice()]) {
        return None;
    }
    let inside_node_modules = components.contains(&b"node_modules".as_slice());
    let (&name, directories) = components.split_last()?;
    match name {
        b"package.json" => {
            let is_package_directory = |directory: &[u8]| {
                !directory.is_empty() && !directory.starts_with(b".") && !directory.starts_with(b"@")
            };
            let installed = match directories {
                [.., parent, package] if *parent == b"node_modules" => is_package_directory(package),
                [.., parent, scope, package] if *parent == b"node_modules" => {
                    scope.len() > 1 && scope.starts_with(b"@") && is_package_directory(package)
                }
                _ => false,
            };
            installed.then_some(Format::InstalledManifest)
        }
        _ if inside_node_modules => None,
        b"package-lock.json" | b"npm-shrinkwrap.json" => Some(Format::PackageLock),
        b"yarn.lock" => Some(Format::YarnLock),
        b"pnpm-lock.yaml" => Some(Format::PnpmLock),
        _ => None,
    }
}

impl Cataloger for NpmCataloger {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && format_of(candidate.path).is_some()
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let Some(format) = format_of(file.path) else {
            return Catalogued::default();
        };
        let evidence = if format == Format::InstalledManifest { Evidence::Installed } else { Evidence::Declared };
        let limit = if format == Format::InstalledManifest { MANIFEST_LIMIT } else { DEFAULT_READ_LIMIT };
        let kind = (Ecosystem::Npm, evidence);
        language::catalog_text(
            file,
            context,
            self.name(),
            kind,
            Reading::Whole(limit),
            |text, collector| match format {
                Format::InstalledManifest => parse_installed_manifest(text, collector),
                Format::PackageLock => parse_package_lock(text, collector),
                Format::YarnLock => parse_yarn_lock(text, collector),
                Format::PnpmLock => parse_pnpm_lock(text, collector),
            },
        )
    }
}

/// `pkg:npm/[%40scope/]name@version`; the purl spec lower-cases npm names (npm refuses
/// upper case in new names, and old mixed-case names resolve case-insensitively).
fn npm_purl(name: &str, version: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.split_once('/') {
        Some((scope, bare)) if scope.starts_with('@') => language::purl(Ecosystem::Npm, Some(scope), bare, version),
        _ => language::purl(Ecosystem::Npm, None, &name, version),
    }
}

/// npm versions are semver: they start with a digit. Anything else in a version slot is a
/// URL, a path, a git reference or a tag, which names no published version.
fn is_registry_version(version: &str) -> bool {
    version.trim_start_matches('v').starts_with(|character: char| character.is_ascii_digit())
}

/// Split `name@rest` at the `@` after the name (a scoped name starts with `@`).
fn split_at_version(descriptor: &str) -> Option<(&str, &str)> {
    let search_from = usize::from(descriptor.starts_with('@'));
    let index = descriptor.get(search_from..)?.find('@')?.checked_add(search_from)?;
    Some((descriptor.get(..index)?, descriptor.get(index.checked_add(1)?..)?))
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    name: Text,
    #[serde(default)]
    version: Text,
}

/// An installed package's `package.json`: name and version are both required.
fn parse_installed_manifest(text: &str, collector: &mut Collector) -> Result<(), String> {
    let manifest: Manifest = language::parse_json(text)?;
    match (manifest.name.as_deref(), manifest.version.as_deref()) {
        (Some(name), Some(version)) => {
            collector.add(name, version, npm_purl);
            Ok(())
        }
        _ => Err("package.json without name or version".to_string()),
    }
}

#[derive(Deserialize)]
struct PackageLock {
    #[serde(default)]
    packages: Option<BTreeMap<String, LockPackage>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, LockDependency>>,
}

/// An entry of the v2/v3 `packages` map.
#[derive(Deserialize)]
struct LockPackage {
    #[serde(default)]
    name: Text,
    #[serde(default)]
    version: Text,
    #[serde(default)]
    link: Option<serde_json::Value>,
}

/// An entry of the v1 `dependencies` tree.
#[derive(Deserialize)]
struct LockDependency {
    #[serde(default)]
    version: Text,
    #[serde(default)]
    dependencies: BTreeMap<String, LockDependency>,
}

/// `package-lock.json`: v2/v3 `packages` keyed by install path (`node_modules/a/node_modules/b`,
/// `""` for the project); v1 `dependencies` nested by dependent, aliases written as
/// `npm:real-name@version`.
fn parse_package_lock(text: &str, collector: &mut Collector) -> Result<(), String> {
    let lock: PackageLock = language::parse_json(text)?;
    if let Some(packages) = &lock.packages {
        for (install_path, entry) in packages {
            // Only installed paths name dependencies; other keys are workspace folders.
            let Some(index) = install_path.rfind("node_modules/") else { continue };
            let linked = entry.link.as_ref().and_then(serde_json::Value::as_bool) == Some(true);
            let Some(version) = entry.version.as_deref().filter(|version| !linked && is_registry_version(version))
            else {
                continue;
            };
            let path_name = install_path.get(index.saturating_add("node_modules/".len())..).unwrap_or_default();
            collector.add(entry.name.as_deref().unwrap_or(path_name), version, npm_purl);
        }
        return Ok(());
    }
    // v1: walk the nested tree with an explicit stack (depth is already bounded by the
    // JSON parser's recursion limit).
    let mut pending: Vec<(&String, &LockDependency)> = lock.dependencies.iter().flatten().collect();
    pending.reverse();
    while let Some((name, dependency)) = pending.pop() {
        if let Some(version) = dependency.version.as_deref() {
            match version.strip_prefix("npm:").and_then(split_at_version) {
                Some((real_name, real_version)) if is_registry_version(real_version) => {
                    collector.add(real_name, real_version, npm_purl)
                }
                Some(_) => {}
                None if is_registry_version(version) => collector.add(name, version, npm_purl),
                None => {}
            }
        }
        pending.extend(dependency.dependencies.iter().rev());
    }
    Ok(())
}

/// `yarn.lock`. Classic (v1) is its own format, berry (v2+) is YAML; both put each entry
/// under an unindented line of descriptors (`"a@^1.0.0", "a@^1.1.0":`) with an indented
/// `version "1.1.2"` / `version: 1.1.2`. Read line by line so both work, and so a hostile
/// file costs one pass. Berry descriptors carry a protocol (`a@npm:^1.0.0`); aliases name
/// the real package after `npm:`; `workspace:`, `link:`, `portal:`, `file:` are local.
fn parse_yarn_lock(text: &str, collector: &mut Collector) -> Result<(), String> {
    let mut descriptor: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            descriptor = line.strip_suffix(':');
            continue;
        }
        let Some(current) = descriptor else { continue };
        // Fields are two spaces in; deeper lines belong to `dependencies:` and the like.
        // Classic yarn may quote field names (`"version" "1.0.0"`).
        let Some(field) = line.strip_prefix("  ").filter(|field| !field.starts_with(' ')) else { continue };
        let Some(rest) = field.strip_prefix("version").or_else(|| field.strip_prefix("\"version\"")) else { continue };
        if !rest.starts_with([':', ' ']) {
            continue;
        }
        let version = rest.trim_start_matches(':').trim().trim_matches('"');
        descriptor = None;
        if let Some(name) = yarn_package_name(current) {
            collector.add(name, version, npm_purl);
        }
    }
    Ok(())
}

/// The package a yarn descriptor line resolves to, or `None` for metadata and local entries.
fn yarn_package_name(descriptors: &str) -> Option<&str> {
    let first = descriptors.split(", ").next()?.trim().trim_matches('"');
    let (name, range) = split_at_version(first)?;
    const LOCAL: [&str; 5] = ["workspace:", "link:", "portal:", "file:", "exec:"];
    if LOCAL.iter().any(|protocol| range.starts_with(protocol)) {
        return None;
    }
    match range.strip_prefix("npm:").and_then(split_at_version) {
        Some((real_name, _)) => Some(real_name),
        None => Some(name),
    }
}

#[derive(Deserialize)]
struct PnpmLock {
    #[serde(default, rename = "lockfileVersion")]
    lockfile_version: Option<String>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Option<PnpmPackage>>>,
}

#[derive(Deserialize)]
struct PnpmPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

/// `pnpm-lock.yaml`: `packages` keys name each package: `/name/1.0.0_peer` (v5),
/// `/name@1.0.0(peer)` (v6), `name@1.0.0(peer)` (v9); tarball and git entries carry
/// `name`/`version` fields instead. pnpm 9 may write two YAML documents; all are read.
fn parse_pnpm_lock(text: &str, collector: &mut Collector) -> Result<(), String> {
    let documents: Vec<Option<PnpmLock>> = language::parse_yaml_documents(text)?;
    for lock in documents.iter().flatten() {
        let major = lock
            .lockfile_version
            .as_deref()
            .and_then(|version| version.trim_matches('\'').split('.').next()?.parse::<u32>().ok())
            .unwrap_or(9);
        for (key, entry) in lock.packages.iter().flatten() {
            let (key_name, key_version) = pnpm_key(key, major).unwrap_or_default();
            let entry = entry.as_ref();
            let name = entry.and_then(|entry| entry.name.as_deref()).unwrap_or(key_name);
            let version = entry
                .and_then(|entry| entry.version.as_deref())
                .filter(|version| is_registry_version(version))
                .unwrap_or(key_version);
            if !name.is_empty() && is_registry_version(version) {
                collector.add(name, version, npm_purl);
            }
        }
    }
    Ok(())
}

/// Name and version from a pnpm `packages` key, without peer suffixes.
fn pnpm_key(key: &str, major: u32) -> Option<(&str, &str)> {
    if major < 6 {
        // Keys of registry packages start with `/`; others are hosts (tarballs, git).
        let key = key.strip_prefix('/')?;
        let (name, version) = key.rsplit_once('/')?;
        return Some((name, version.split('_').next()?));
    }
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next()?;
    split_at_version(key)
}

#[cfg(test)]
mod tests {
    use super::super::language::testing::{candidate, catalog, deep_json, names, purls, yaml_alias_bomb};
    use super::*;

    #[test]
    fn wants_table() {
        let table: &[(&str, bool)] = &[
            ("/app/node_modules/lodash/package.json", true),
            ("/app/node_modules/@types/node/package.json", true),
            ("/app/node_modules/a/node_modules/b/package.json", true),
            ("/app/node_modules/.pnpm/ms@2.1.3/node_modules/ms/package.json", true),
            ("/usr/lib/node_modules/npm/package.json", true),
            ("/app/package-lock.json", true),
            ("/app/npm-shrinkwrap.json", true),
            ("/app/yarn.lock", true),
            ("/app/pnpm-lock.yaml", true),
            // Negatives.
            ("/app/package.json", false),
            ("/app/node_modules/lodash/fp/package.json", false),
            ("/app/node_modules/@types/package.json", false),
            ("/app/node_modules/.cache/x/package.json", false),
            ("/app/node_modules/.cache/node_modules/x/package.json", false),
            ("/app/node_modules/.package-lock.json", false),
            ("/app/node_modules/a/package-lock.json", false),
            ("/app/node_modules/a/yarn.lock", false),
            ("/app/node_modules/.bin/package.json", false),
            ("/app/package.json5", false),
            ("/app/bun.lockb", false),
        ];
        for (path, expected) in table {
            assert_eq!(NpmCataloger.wants(&candidate(path)), *expected, "{path}");
        }
    }

    #[test]
    fn installed_manifests() {
        let found = catalog(
            &NpmCataloger,
            "/a/node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"20.1.0","dependencies":{}}"#,
        );
        assert_eq!(purls(&found), ["pkg:npm/%40types/node@20.1.0"]);
        let legacy = catalog(
            &NpmCataloger,
            "/a/node_modules/JSONStream/package.json",
            br#"{"name":"JSONStream","version":"1.3.5"}"#,
        );
        assert_eq!(names(&legacy), ["JSONStream@1.3.5"]);
        assert_eq!(purls(&legacy), ["pkg:npm/jsonstream@1.3.5"]);
        assert_eq!(found.packages[0].evidence, Evidence::Installed);
        let path = "/a/node_modules/x/package.json";
        assert_eq!(catalog(&NpmCataloger, path, br#"{"name":"x"}"#).problems, ["package.json without name or version"]);
        assert!(catalog(&NpmCataloger, path, b"").problems[0].contains("not valid JSON"));
        assert!(catalog(&NpmCataloger, path, br#"{"name":"x","vers"#).problems[0].contains("not valid JSON"));
        assert!(catalog(&NpmCataloger, path, b"\x89PNG\r\n").problems[0].contains("UTF-8"));
        let deep = catalog(&NpmCataloger, path, format!("{{\"name\":{}}}", deep_json(10_000)).as_bytes());
        // Skipped without recursion (serde_json ignores values iteratively).
        assert_eq!(deep.problems, ["package.json without name or version"]);
        let deep = catalog(&NpmCataloger, path, deep_json(10_000).as_bytes());
        assert!(deep.packages.is_empty() && deep.problems.len() == 1, "{:?}", deep.problems);
        let huge = vec![b' '; 5 * 1024 * 1024];
        let refused = catalog(&NpmCataloger, path, &huge);
        assert_eq!(refused.problems, ["cannot read: file is 5242880 bytes, over the 4194304-byte limit"]);
        // A version of the wrong type is ignored, not fatal.
        assert_eq!(
            catalog(&NpmCataloger, path, br#"{"name":"x","version":1}"#).problems,
            ["package.json without name or version"]
        );
    }

    #[test]
    fn package_lock_v1_nested_and_aliases() {
        let text = r#"{"lockfileVersion":1,"dependencies":{
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0","dependencies":{"c":{"version":"3.0.0"}}}}},
            "@s/d":{"version":"4.0.0","dev":true},
            "cjs":{"version":"npm:string-width@4.2.3"},
            "g":{"version":"github:user/g#abc"},
            "b":{"version":"2.0.0"}}}"#;
        let found = catalog(&NpmCataloger, "/app/package-lock.json", text.as_bytes());
        assert_eq!(names(&found), ["@s/d@4.0.0", "a@1.0.0", "b@2.0.0", "c@3.0.0", "string-width@4.2.3"]);
        assert!(found.packages.iter().all(|package| package.evidence == Evidence::Declared));
    }

    /// A v1 lockfile whose dependency tree is `depth` levels deep.
    fn nested_v1_lock(depth: usize) -> String {
        let mut text = String::from(r#"{"lockfileVersion":1,"dependencies":"#);
        for level in 0..depth {
            text.push_str(&format!(r#"{{"p{level}":{{"version":"1.0.{level}","dependencies":"#));
        }
        text.push_str("{}");
        text.push_str(&"}}".repeat(depth));
        text.push('}');
        text
    }

    #[test]
    fn package_lock_v1_deep_nesting() {
        let path = "/app/package-lock.json";
        let found = catalog(&NpmCataloger, path, nested_v1_lock(30).as_bytes());
        assert_eq!(found.packages.len(), 30, "{:?}", found.problems);
        let hostile = catalog(&NpmCataloger, path, nested_v1_lock(5_000).as_bytes());
        assert!(hostile.packages.is_empty());
        assert!(hostile.problems[0].contains("recursion limit"), "{:?}", hostile.problems);
    }

    #[test]
    fn package_lock_v2_v3_packages() {
        let text = r#"{"lockfileVersion":3,"packages":{
            "":{"name":"app","version":"1.0.0"},
            "node_modules/a":{"version":"1.0.0"},
            "node_modules/a/node_modules/@s/b":{"version":"2.0.0"},
            "node_modules/cjs":{"name":"string-width","version":"4.2.3"},
            "node_modules/member":{"resolved":"packages/member","link":true},
            "packages/member":{"name":"member","version":"0.0.1"},
            "node_modules/g":{"version":"git+ssh://git@git.example.org/g.git#abc"}},
            "dependencies":{"ignored":{"version":"9.9.9"}}}"#;
        let found = catalog(&NpmCataloger, "/app/package-lock.json", text.as_bytes());
        assert_eq!(names(&found), ["a@1.0.0", "@s/b@2.0.0", "string-width@4.2.3"]);
        assert!(catalog(&NpmCataloger, "/app/package-lock.json", b"{}").packages.is_empty());
        assert!(catalog(&NpmCataloger, "/app/package-lock.json", b"").problems[0].contains("not valid JSON"));
        assert!(
            catalog(&NpmCataloger, "/app/package-lock.json", br#"{"packages":{"node_modules/a":{"ver"#).problems[0]
                .contains("not valid JSON")
        );
        assert!(
            catalog(&NpmCataloger, "/app/package-lock.json", br#"{"packages":[1]}"#).problems[0]
                .contains("not valid JSON")
        );
    }

    #[test]
    fn yarn_classic_and_berry() {
        let classic = "# yarn lockfile v1\n\nquoted@^1:\n  \"resolved\" \"x\"\n  \"version\" \"1.0.1\"\n\nversionless@^1:\n  versions \"9\"\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.12.13\"\n  resolved \"https://registry.example.org/x\"\n  dependencies:\n    version \"0\"\n\nlodash@^4.17.0:\n  version \"4.17.21\"\n\nstring-width-cjs@npm:string-width@^4.2.0:\n  version \"4.2.3\"\n";
        let found = catalog(&NpmCataloger, "/app/yarn.lock", classic.as_bytes());
        assert_eq!(
            names(&found),
            ["quoted@1.0.1", "@babel/code-frame@7.12.13", "lodash@4.17.21", "string-width@4.2.3"]
        );
        let berry = "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"ansi-regex-cjs@npm:ansi-regex@^5.0.0\":\n  version: 5.0.1\n  resolution: \"ansi-regex@npm:5.0.1\"\n\n\"@s/x@npm:^1.0.0, @s/x@npm:^1.1.0\":\n  version: 1.1.0\n\n\"mine@workspace:.\":\n  version: 0.0.0-use.local\n\n\"resolve@patch:resolve@npm%3A^1.0.0#~builtin<compat/resolve>\":\n  version: 1.22.8\n";
        let found = catalog(&NpmCataloger, "/app/yarn.lock", berry.as_bytes());
        assert_eq!(names(&found), ["ansi-regex@5.0.1", "@s/x@1.1.0", "resolve@1.22.8"]);
        assert!(found.problems.is_empty());
        assert!(catalog(&NpmCataloger, "/app/yarn.lock", b"").packages.is_empty());
        assert!(catalog(&NpmCataloger, "/app/yarn.lock", b"lodash@^4:\n  vers").packages.is_empty());
        let garbage =
            catalog(&NpmCataloger, "/app/yarn.lock", b"x@1:\n  version \"1 2\"\n:\n  version 1\n@:\n  version 1\n");
        assert!(garbage.packages.is_empty());
        assert_eq!(garbage.problems.len(), 1, "{:?}", garbage.problems);
    }

    #[test]
    fn pnpm_key_forms() {
        let v5 = "lockfileVersion: 5.3\npackages:\n  /foo/1.0.0:\n  /@foo/bar/1.0.0:\n    resolution: {integrity: x}\n  /baz/1.4.0_@types+babel__core@7.1.14:\n    dev: true\n  github.example.org/kevva/is-positive:\n    resolution: {tarball: x}\n    name: is-positive\n    version: 3.1.0\n  example.com/foo/1.2.0:\n  /foo/bar:\n";
        let found = catalog(&NpmCataloger, "/app/pnpm-lock.yaml", v5.as_bytes());
        assert_eq!(names(&found), ["@foo/bar@1.0.0", "baz@1.4.0", "foo@1.0.0", "is-positive@3.1.0"]);
        let v6 = "lockfileVersion: '6.0'\npackages:\n  /@s/a@1.0.0(react@18.0.0):\n    resolution: {integrity: x}\n  /b@2.0.0:\n    dev: false\n";
        assert_eq!(names(&catalog(&NpmCataloger, "/app/pnpm-lock.yaml", v6.as_bytes())), ["@s/a@1.0.0", "b@2.0.0"]);
        let v9 = "lockfileVersion: '9.0'\npackages:\n  '@s/a@1.0.0':\n    resolution: {integrity: x}\n  c@https://codeload.example.org/c/tar.gz/abc:\n    resolution: {tarball: x}\n    version: 6.0.1\nsnapshots:\n  '@s/a@1.0.0(x@1.0.0)': {}\n---\nlockfileVersion: '9.0'\npackages:\n  d@4.0.0: {}\n";
        assert_eq!(
            names(&catalog(&NpmCataloger, "/app/pnpm-lock.yaml", v9.as_bytes())),
            ["@s/a@1.0.0", "c@6.0.1", "d@4.0.0"]
        );
    }

    #[test]
    fn pnpm_bad_input() {
        let path = "/app/pnpm-lock.yaml";
        assert!(catalog(&NpmCataloger, path, b"").problems.is_empty());
        assert!(
            catalog(&NpmCataloger, path, b"lockfileVersion: '9.0'\npackages:\n  'a@1").problems[0]
                .contains("not valid YAML")
        );
        assert!(catalog(&NpmCataloger, path, b"packages: [1, 2]\n").problems[0].contains("not valid YAML"));
        assert!(catalog(&NpmCataloger, path, yaml_alias_bomb().as_bytes()).problems[0].contains("not valid YAML"));
        let deep = format!("packages: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        assert!(catalog(&NpmCataloger, path, deep.as_bytes()).problems[0].contains("not valid YAML"));
    }
}
