//! Rust crates declared by `Cargo.lock` (format versions 1 to 4).
//!
//! Every version keeps `[[package]]` tables with `name`, `version` and, for crates that
//! come from a registry or git, `source`; v1 adds a `[root]` table and a `[metadata]`
//! checksum map, v3/v4 change only checksums and encoding. Crates without a `source` are the
//! workspace's own members and path dependencies: the project itself, never published, so
//! they name nothing an advisory could be about and are skipped.

use super::language::{self, Collector, Reading, Text};
use super::{Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, WantedFile};
use crate::fs::FileType;
use serde::Deserialize;

/// Crates named by `Cargo.lock` files.
pub struct CargoLockCataloger;

impl Cataloger for CargoLockCataloger {
    fn name(&self) -> &'static str {
        "cargo-lock"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && candidate.file_name() == b"Cargo.lock"
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let kind = (Ecosystem::Cargo, Evidence::Declared);
        language::catalog_text(file, context, self.name(), kind, Reading::Whole(DEFAULT_READ_LIMIT), parse)
    }
}

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<LockedCrate>,
}

#[derive(Deserialize)]
struct LockedCrate {
    #[serde(default)]
    name: Text,
    #[serde(default)]
    version: Text,
    #[serde(default)]
    source: Text,
}

/// `pkg:cargo/name@version`.
fn cargo_purl(name: &str, version: &str) -> String {
    language::purl(Ecosystem::Cargo, None, name, version)
}

fn parse(text: &str, collector: &mut Collector) -> Result<(), String> {
    let lock: CargoLock = language::parse_toml(text)?;
    for locked in &lock.package {
        let (Some(name), Some(version)) = (locked.name.as_deref(), locked.version.as_deref()) else {
            collector.problem("a [[package]] entry without name or version");
            continue;
        };
        if locked.source.0.is_some() {
            collector.add(name, version, cargo_purl);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::language::testing::{candidate, catalog, names, purls};
    use super::*;

    #[test]
    fn wants_table() {
        let table: &[(&str, bool)] = &[
            ("/srv/app/Cargo.lock", true),
            ("/root/.cargo/registry/src/x/serde-1.0.0/Cargo.lock", true),
            ("/srv/app/Cargo.toml", false),
            ("/srv/app/cargo.lock", false),
            ("/srv/app/Cargo.lock.orig", false),
            ("/srv/app/poetry.lock", false),
        ];
        for (path, expected) in table {
            assert_eq!(CargoLockCataloger.wants(&candidate(path)), *expected, "{path}");
        }
    }

    const REGISTRY: &str = "registry+https://index.example.org/crates.io-index";

    #[test]
    fn versions_one_to_four() {
        let v1 = format!(
            "[root]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa 1.0.0 ({REGISTRY})\"]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.0\"\nsource = \"{REGISTRY}\"\n\n[metadata]\n\"checksum itoa 1.0.0 ({REGISTRY})\" = \"abc\"\n"
        );
        assert_eq!(names(&catalog(&CargoLockCataloger, "/a/Cargo.lock", v1.as_bytes())), ["itoa@1.0.0"]);
        for version in [3, 4] {
            let text = format!(
                "# generated\nversion = {version}\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.200\"\nsource = \"{REGISTRY}\"\nchecksum = \"ff\"\n\n[[package]]\nname = \"gitdep\"\nversion = \"0.2.0-alpha.1+build\"\nsource = \"git+https://git.example.org/g#abc\"\n"
            );
            let found = catalog(&CargoLockCataloger, "/a/Cargo.lock", text.as_bytes());
            assert_eq!(names(&found), ["serde@1.0.200", "gitdep@0.2.0-alpha.1+build"]);
            assert_eq!(purls(&found), ["pkg:cargo/serde@1.0.200", "pkg:cargo/gitdep@0.2.0-alpha.1%2Bbuild"]);
            assert_eq!(found.packages[0].evidence, Evidence::Declared);
            assert!(found.problems.is_empty());
        }
    }

    #[test]
    fn empty_truncated_garbage_hostile() {
        assert!(catalog(&CargoLockCataloger, "/a/Cargo.lock", b"").packages.is_empty());
        assert!(
            catalog(&CargoLockCataloger, "/a/Cargo.lock", b"version = 3\n[[package]]\nname = \"se").problems[0]
                .contains("not valid TOML")
        );
        assert!(
            catalog(&CargoLockCataloger, "/a/Cargo.lock", b"\x7fELF\x02\x01").problems[0].contains("not valid TOML")
        );
        assert!(catalog(&CargoLockCataloger, "/a/Cargo.lock", b"package = 5").problems[0].contains("not valid TOML"));
        let missing = catalog(&CargoLockCataloger, "/a/Cargo.lock", b"[[package]]\nversion = \"1\"\n");
        assert_eq!(missing.problems, ["a [[package]] entry without name or version"]);
        let deep = format!("[[package]]\nname = {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
        assert!(catalog(&CargoLockCataloger, "/a/Cargo.lock", deep.as_bytes()).problems[0].contains("not valid TOML"));
    }
}
