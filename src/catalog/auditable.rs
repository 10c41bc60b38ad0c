//! Rust binaries built with `cargo auditable`: the crates compiled in, from `.dep-v0`.
//!
//! `cargo auditable` embeds the dependency tree of a binary as zlib-compressed JSON in an
//! ELF section named `.dep-v0`, so a Rust binary on disk says exactly which crate
//! versions it contains, with no lockfile next to it. Only the ELF headers and that
//! section are read; the inflated JSON is capped, since a hostile binary could carry a
//! zlib bomb.

// Bytes here come from files on a scanned disk: no panicking indexing, unchecked
// arithmetic or lossy casts outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

use super::{Candidate, CatalogContext, Cataloger, Catalogued, Ecosystem, Evidence, Location, Package, WantedFile};
use crate::archive::elf;
use crate::fs::FileReader;
use serde::Deserialize;
use std::io::Read;

/// The section cargo-auditable writes.
const SECTION_NAME: &[u8] = b".dep-v0";

/// Largest `.dep-v0` section read (real ones are a few KiB even for large trees).
const SECTION_LIMIT: u64 = 8 * 1024 * 1024;

/// Largest inflated dependency JSON accepted.
const JSON_LIMIT: u64 = 32 * 1024 * 1024;

/// Binaries carrying a cargo-auditable dependency list.
pub struct CargoAuditableCataloger;

impl Cataloger for CargoAuditableCataloger {
    fn name(&self) -> &'static str {
        "cargo-auditable"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        // A native distro package's executables were built without Rust.
        !candidate.installed_by_native_package
            && elf::could_be_executable(candidate.file_type, candidate.mode, candidate.size)
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let location = context.location(&file.display_path());
        match read_dependencies(file.reader) {
            Ok(Some(packages)) => packages_of(packages, &location),
            Ok(None) => Catalogued::default(),
            Err(error) => Catalogued::problem(format!("cargo-auditable data: {error}")),
        }
    }
}

/// Why the dependency list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditableError {
    /// The ELF structures are broken.
    #[error(transparent)]
    Elf(#[from] elf::ElfError),
    /// The section does not inflate (or inflates past the cap).
    #[error("{0}")]
    Compression(String),
    /// The inflated bytes are not the expected JSON.
    #[error("malformed dependency JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The JSON cargo-auditable writes (fields snapscan does not use are ignored).
#[derive(Debug, Deserialize)]
struct DependencyList {
    packages: Vec<CratePackage>,
}

/// One crate of the list.
#[derive(Debug, Deserialize)]
pub struct CratePackage {
    /// Crate name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// `crates.io`, `local`, `git`, `registry` or another source kind.
    #[serde(default)]
    pub source: Option<String>,
    /// `runtime` (the default) or `build` (build scripts and proc macros only).
    #[serde(default)]
    pub kind: Option<String>,
}

/// The crates listed in the binary in `reader`; `Ok(None)` when it is not ELF or has no
/// `.dep-v0` section.
pub fn read_dependencies(reader: &mut dyn FileReader) -> Result<Option<Vec<CratePackage>>, AuditableError> {
    let Some((_, compressed)) = elf::find_section(reader, SECTION_NAME, SECTION_LIMIT)? else {
        return Ok(None);
    };
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(JSON_LIMIT.saturating_add(1))
        .read_to_end(&mut json)
        .map_err(|error| AuditableError::Compression(format!("inflating .dep-v0: {error}")))?;
    if u64::try_from(json.len()).unwrap_or(u64::MAX) > JSON_LIMIT {
        return Err(AuditableError::Compression(format!(".dep-v0 inflates past the {JSON_LIMIT}-byte limit")));
    }
    let list: DependencyList = serde_json::from_slice(&json)?;
    Ok(Some(list.packages))
}

/// Packages for every crate with a name and a version; the others are problems.
fn packages_of(crates: Vec<CratePackage>, location: &Location) -> Catalogued {
    let mut output = Catalogued::default();
    for listed in crates {
        if listed.name.trim().is_empty() || listed.version.trim().is_empty() {
            output.problems.push(format!("crate entry without a name or version: {:?}", listed.name));
            continue;
        }
        output.packages.push(Package {
            purl: format!("pkg:cargo/{}@{}", super::purl_encode(&listed.name), super::purl_encode(&listed.version)),
            name: listed.name,
            version: listed.version,
            ecosystem: Ecosystem::Cargo,
            arch: None,
            source_name: None,
            source_version: None,
            epoch: None,
            release: None,
            status: None,
            distro: None,
            locations: vec![location.clone()],
            found_by: "cargo-auditable".to_string(),
            evidence: Evidence::Installed,
        });
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::MemoryReader;
    use crate::archive::elf::testing::{SectionSpec, build_elf64};
    use crate::fs::FileType;
    use crate::test_fixtures::{repository_root, unpacked};
    use std::io::Write;

    fn location() -> Location {
        Location { volume: "disk.img".into(), partition: Some(2), path: "/usr/local/bin/tool".into() }
    }

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn catalog(binary: Vec<u8>) -> Result<Catalogued, AuditableError> {
        Ok(read_dependencies(&mut MemoryReader(binary))?
            .map(|crates| packages_of(crates, &location()))
            .unwrap_or_default())
    }

    fn names(catalogued: &Catalogued) -> Vec<String> {
        catalogued.packages.iter().map(|package| format!("{} {}", package.name, package.version)).collect()
    }

    #[test]
    fn wants_executables_only() {
        let cataloger = CargoAuditableCataloger;
        for (path, file_type, mode, size, wanted) in [
            ("/usr/local/bin/ripgrep", FileType::Regular, 0o755, 5_000_000, true),
            ("/opt/tool/tool", FileType::Regular, 0o750, 4096, true),
            ("/usr/lib/libtool.so", FileType::Regular, 0o644, 5_000_000, false),
            ("/home/user/Cargo.lock", FileType::Regular, 0o644, 5000, false),
            ("/usr/local/bin/tiny", FileType::Regular, 0o755, 100, false),
            ("/usr/bin/rg", FileType::Symlink, 0o777, 20, false),
        ] {
            let candidate =
                Candidate { path: path.as_bytes(), file_type, size, mode, installed_by_native_package: false };
            assert_eq!(cataloger.wants(&candidate), wanted, "{path}");
        }
    }

    #[test]
    fn a_native_packages_executables_are_not_wanted() {
        let candidate = |installed_by_native_package| Candidate {
            path: b"/usr/bin/rg",
            file_type: FileType::Regular,
            size: 5_000_000,
            mode: 0o755,
            installed_by_native_package,
        };
        assert!(!CargoAuditableCataloger.wants(&candidate(true)));
        assert!(CargoAuditableCataloger.wants(&candidate(false)));
    }

    #[test]
    fn dependency_list_becomes_packages() {
        let json = br#"{"packages":[{"name":"tool","version":"0.1.0","source":"local","dependencies":[1],"root":true},{"name":"serde","version":"1.0.190","source":"crates.io","kind":"build"},{"name":"","version":"1"}]}"#;
        let binary = build_elf64(&[SectionSpec { name: ".dep-v0", address: 0, bytes: zlib(json) }]);
        let catalogued = catalog(binary).unwrap();
        assert_eq!(names(&catalogued), ["tool 0.1.0", "serde 1.0.190"]);
        assert_eq!(catalogued.problems.len(), 1);
        let serde = &catalogued.packages[1];
        assert_eq!(serde.purl, "pkg:cargo/serde@1.0.190");
        assert_eq!(serde.ecosystem, Ecosystem::Cargo);
        assert_eq!(serde.found_by, "cargo-auditable");
    }

    #[test]
    fn binaries_without_the_section_give_nothing() {
        let plain = build_elf64(&[SectionSpec { name: ".text", address: 0x1000, bytes: vec![0; 64] }]);
        assert!(read_dependencies(&mut MemoryReader(plain)).unwrap().is_none());
        assert!(read_dependencies(&mut MemoryReader(b"#!/bin/sh\n".repeat(20))).unwrap().is_none());
    }

    #[test]
    fn bad_sections_are_errors() {
        let empty = build_elf64(&[SectionSpec { name: ".dep-v0", address: 0, bytes: Vec::new() }]);
        assert!(matches!(catalog(empty), Err(AuditableError::Compression(_) | AuditableError::Json(_))));
        let not_zlib =
            build_elf64(&[SectionSpec { name: ".dep-v0", address: 0, bytes: b"plain text, not zlib".to_vec() }]);
        assert!(matches!(catalog(not_zlib), Err(AuditableError::Compression(_))));
        let not_json =
            build_elf64(&[SectionSpec { name: ".dep-v0", address: 0, bytes: zlib(b"{\"packages\": [1, 2") }]);
        assert!(matches!(catalog(not_json), Err(AuditableError::Json(_))));
        let bomb = zlib(&vec![b' '; 40 * 1024 * 1024]);
        let binary = build_elf64(&[SectionSpec { name: ".dep-v0", address: 0, bytes: bomb }]);
        assert!(matches!(catalog(binary), Err(AuditableError::Compression(message)) if message.contains("limit")));
        let binary = build_elf64(&[SectionSpec { name: ".dep-v0", address: 0, bytes: zlib(b"{\"packages\":[]}") }]);
        for length in (0..binary.len()).step_by(5) {
            let result = read_dependencies(&mut MemoryReader(binary[..length].to_vec()));
            assert!(result.is_err() || length < 4, "cut at {length}");
        }
    }

    /// The committed binary built with `cargo auditable` by `scripts/make-fixtures-binaries.sh`.
    #[test]
    fn real_auditable_binary_fixture() {
        let binary = std::fs::read(unpacked("fixtures/binaries/auditable-hello.zst")).unwrap();
        let catalogued = catalog(binary).unwrap();
        assert!(catalogued.problems.is_empty());
        let expected =
            std::fs::read_to_string(repository_root().join("fixtures/binaries/auditable-hello.expected")).unwrap();
        assert_eq!(names(&catalogued), expected.lines().collect::<Vec<_>>());
    }
}
