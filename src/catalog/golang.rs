//! Go modules: build info embedded in Go binaries (installed) and `go.mod` (declared).
//!
//! Every Go binary built with modules records its Go version and the exact module versions
//! it was built from in the `.go.buildinfo` section. Go 1.18 and later store the two
//! strings inline after a 32-byte header; older toolchains store pointers to Go string
//! headers in the data segment, which are followed through the ELF section table. Only the
//! ELF headers and that section (plus, for the old format, the few bytes pointed to) are
//! read, never the whole binary. The Go version becomes the package `stdlib`; the main
//! module and every dependency become packages with replacements (`=>`) applied, because
//! the replacement is the code that was compiled in. `go.mod` files give their `require`
//! lines, with `replace` directives applied the same way.

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
use crate::archive::Endian;
use crate::archive::elf::{self, ElfError, ElfFile};
use crate::fs::{FileReader, FileType};

/// The 14 bytes `.go.buildinfo` starts with.
const BUILD_INFO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";

/// Size of the build-info header before the inline strings.
const BUILD_INFO_HEADER: usize = 32;

/// Header flag: the strings follow inline (Go 1.18+).
const FLAG_INLINE: u8 = 0x2;

/// Header flag (pointer format): pointers are big-endian.
const FLAG_BIG_ENDIAN: u8 = 0x1;

/// Largest `.go.buildinfo` section read (real ones are a few KiB).
const SECTION_LIMIT: u64 = 4 * 1024 * 1024;

/// Longest version or module-info string read.
const STRING_LIMIT: u64 = 4 * 1024 * 1024;

/// Largest `go.mod` read.
const GO_MOD_LIMIT: u64 = 4 * 1024 * 1024;

/// Version Go writes for a module built from a local directory.
const DEVELOPMENT_VERSION: &str = "(devel)";

/// Go binaries (by build info) and `go.mod` files.
pub struct GoCataloger;

impl Cataloger for GoCataloger {
    fn name(&self) -> &'static str {
        "go-module"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        let is_go_mod = candidate.file_type == FileType::Regular
            && candidate.file_name() == b"go.mod"
            && !is_in_module_cache(candidate.path);
        // A native distro package's executables are C-family code: no Go build info.
        let is_executable = !candidate.installed_by_native_package
            && elf::could_be_executable(candidate.file_type, candidate.mode, candidate.size);
        is_go_mod || is_executable
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let path = file.display_path();
        let location = context.location(&path);
        if crate::fs::path::file_name(file.path) == b"go.mod" {
            return match file.bytes(GO_MOD_LIMIT) {
                Ok(bytes) => parse_go_mod(&String::from_utf8_lossy(&bytes), &location),
                Err(error) => Catalogued::problem(format!("reading go.mod: {error}")),
            };
        }
        match read_build_info(file.reader) {
            Ok(Some(info)) => info.packages(&location),
            Ok(None) => Catalogued::default(),
            Err(error) => Catalogued::problem(format!("Go build info: {error}")),
        }
    }
}

/// True under a Go module cache (`$GOPATH/pkg/mod/`): the go.mod files there belong to
/// downloaded dependencies' sources, not to software installed on the machine.
fn is_in_module_cache(path: &[u8]) -> bool {
    path.windows(9).any(|window| window == b"/pkg/mod/")
}

/// Why build info could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BuildInfoError {
    /// The ELF structures are broken.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The `.go.buildinfo` section is malformed.
    #[error("malformed .go.buildinfo: {0}")]
    Malformed(String),
}

fn malformed(message: impl Into<String>) -> BuildInfoError {
    BuildInfoError::Malformed(message.into())
}

/// The two strings of a binary's build info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// Toolchain version, `go1.21.5`.
    pub go_version: String,
    /// Module info text (`path`, `mod`, `dep`, `=>`, `build` lines), framing removed.
    pub module_info: String,
}

/// Build info of the ELF binary in `reader`; `Ok(None)` for files that are not ELF or not
/// Go (no `.go.buildinfo` section).
pub fn read_build_info(reader: &mut dyn FileReader) -> Result<Option<BuildInfo>, BuildInfoError> {
    let Some((elf, section)) = elf::find_section(reader, b".go.buildinfo", SECTION_LIMIT)? else {
        return Ok(None);
    };
    if !section.starts_with(BUILD_INFO_MAGIC) {
        return Err(malformed("section does not start with the build-info magic"));
    }
    let pointer_size = section.get(14).copied().ok_or_else(|| malformed("header is truncated"))?;
    let flags = section.get(15).copied().ok_or_else(|| malformed("header is truncated"))?;
    let (go_version, module_info) = if flags & FLAG_INLINE != 0 {
        let mut cursor = BUILD_INFO_HEADER;
        let version = inline_string(&section, &mut cursor)?;
        let module_info = inline_string(&section, &mut cursor)?;
        (version, module_info)
    } else {
        let endian = if flags & FLAG_BIG_ENDIAN != 0 { Endian::Big } else { Endian::Little };
        let pointers = Pointers { elf: &elf, endian, size: pointer_size };
        let version_header = pointers.word(&section, 16)?;
        let module_header = pointers.word(&section, 16usize.saturating_add(usize::from(pointer_size)))?;
        (pointers.string(reader, version_header)?, pointers.string(reader, module_header)?)
    };
    let go_version = String::from_utf8_lossy(&go_version).into_owned();
    let module_info = String::from_utf8_lossy(strip_framing(&module_info)).into_owned();
    Ok(Some(BuildInfo { go_version, module_info }))
}

/// A uvarint-length-prefixed string at `cursor`, advancing it.
fn inline_string(section: &[u8], cursor: &mut usize) -> Result<Vec<u8>, BuildInfoError> {
    let mut length = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = section.get(*cursor).copied().ok_or_else(|| malformed("string length is truncated"))?;
        *cursor = cursor.saturating_add(1);
        if shift > 63 {
            return Err(malformed("string length overflows"));
        }
        length |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
        shift = shift.saturating_add(7);
        if byte & 0x80 == 0 {
            break;
        }
    }
    let length = usize::try_from(length).map_err(|_| malformed("string length overflows"))?;
    let end = cursor.checked_add(length).ok_or_else(|| malformed("string length overflows"))?;
    let bytes = section
        .get(*cursor..end)
        .ok_or_else(|| malformed(format!("string of {length} bytes runs past the section")))?;
    *cursor = end;
    Ok(bytes.to_vec())
}

/// Pointer-format reading: words of the target's size and byte order, followed through
/// the section table.
struct Pointers<'a> {
    elf: &'a ElfFile,
    endian: Endian,
    size: u8,
}

impl Pointers<'_> {
    fn word(&self, bytes: &[u8], offset: usize) -> Result<u64, BuildInfoError> {
        let value = match self.size {
            4 => self.endian.u32(bytes, offset).map(u64::from),
            8 => self.endian.u64(bytes, offset),
            other => return Err(malformed(format!("pointer size {other}"))),
        };
        value.ok_or_else(|| malformed("pointer is truncated"))
    }

    /// The Go string whose header (data pointer, length) is at `address`.
    fn string(&self, reader: &mut dyn FileReader, address: u64) -> Result<Vec<u8>, BuildInfoError> {
        let header_size = u64::from(self.size).saturating_mul(2);
        let header = self.elf.read_address(reader, address, header_size, header_size)?;
        let data = self.word(&header, 0)?;
        let length = self.word(&header, usize::from(self.size))?;
        if length == 0 {
            return Ok(Vec::new());
        }
        if length > STRING_LIMIT {
            return Err(malformed(format!("string of {length} bytes is over the {STRING_LIMIT}-byte limit")));
        }
        Ok(self.elf.read_address(reader, data, length, STRING_LIMIT)?)
    }
}

/// Module info is framed by 16-byte sentinels; Go strips them the same way.
fn strip_framing(module_info: &[u8]) -> &[u8] {
    let length = module_info.len();
    if length >= 33 && module_info.get(length.saturating_sub(17)) == Some(&b'\n') {
        return module_info.get(16..length.saturating_sub(16)).unwrap_or(module_info);
    }
    module_info
}

impl BuildInfo {
    /// `stdlib`, the main module and every dependency, replacements applied.
    pub fn packages(&self, location: &Location) -> Catalogued {
        let mut output = Catalogued::default();
        let version = self.go_version.split_whitespace().next().unwrap_or_default();
        match version.strip_prefix("go") {
            Some(number) if !number.is_empty() => {
                output.packages.push(go_package("stdlib", number, location, Evidence::Installed))
            }
            _ => output
                .problems
                .push(format!("Go version {:?} is not a release version; stdlib not reported", self.go_version)),
        }
        // Each `mod`/`dep` line waits for a possible `=>` line before it becomes a package.
        let mut pending: Option<(String, String)> = None;
        let flush = |pending: &mut Option<(String, String)>, output: &mut Catalogued| {
            if let Some((path, version)) = pending.take() {
                output.packages.push(go_package(&path, &version, location, Evidence::Installed));
            }
        };
        for line in self.module_info.lines() {
            let mut fields = line.split('\t');
            match (fields.next(), fields.next(), fields.next()) {
                (Some("mod" | "dep"), Some(path), version) if !path.is_empty() => {
                    flush(&mut pending, &mut output);
                    let version = version.filter(|version| !version.is_empty()).unwrap_or(DEVELOPMENT_VERSION);
                    pending = Some((path.to_string(), version.to_string()));
                }
                (Some("=>"), Some(target), version) => match pending.as_mut() {
                    Some((path, original)) => {
                        let (new_path, new_version) = apply_replacement(path, target, version.unwrap_or_default());
                        *path = new_path;
                        *original = new_version;
                    }
                    None => output.problems.push(format!("replacement {target} follows no module")),
                },
                _ => {}
            }
        }
        flush(&mut pending, &mut output);
        output
    }
}

/// The module that was really used: a versioned replacement is another module; a local
/// directory (`../x`, no version) keeps the original path at version `(devel)`, as Go does.
fn apply_replacement(path: &str, target: &str, target_version: &str) -> (String, String) {
    let is_local = target.starts_with('.') || target.starts_with('/');
    if is_local || target_version.is_empty() || target_version == DEVELOPMENT_VERSION {
        return (path.to_string(), DEVELOPMENT_VERSION.to_string());
    }
    (target.to_string(), target_version.to_string())
}

/// A Go package; the purl keeps the module path's slashes as namespace separators.
fn go_package(path: &str, version: &str, location: &Location, evidence: Evidence) -> Package {
    let encoded_path: Vec<String> = path.split('/').map(super::purl_encode).collect();
    Package {
        name: path.to_string(),
        version: version.to_string(),
        ecosystem: Ecosystem::Golang,
        purl: format!("pkg:golang/{}@{}", encoded_path.join("/"), super::purl_encode(version)),
        arch: None,
        source_name: None,
        source_version: None,
        epoch: None,
        release: None,
        status: None,
        distro: None,
        locations: vec![location.clone()],
        found_by: match evidence {
            Evidence::Installed => "go-module-binary",
            Evidence::Declared => "go-module-file",
        }
        .to_string(),
        evidence,
    }
}

/// A `replace` directive: `old [version] => new [version]`.
struct Replacement {
    path: String,
    version: Option<String>,
    target: String,
    target_version: String,
}

/// Requirements of a `go.mod`, with its `replace` directives applied.
fn parse_go_mod(text: &str, location: &Location) -> Catalogued {
    let mut output = Catalogued::default();
    let mut requirements: Vec<(String, String)> = Vec::new();
    let mut replacements: Vec<Replacement> = Vec::new();
    let mut block: Option<String> = None;
    let mut saw_module = false;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if block.is_some() && line == ")" {
            block = None;
            continue;
        }
        let (verb, rest) = match &block {
            Some(verb) => (verb.clone(), line),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb.to_string());
                    continue;
                }
                (verb.to_string(), rest)
            }
        };
        let words: Vec<&str> = rest.split_whitespace().map(|word| word.trim_matches('"')).collect();
        match verb.as_str() {
            "module" => saw_module = true,
            "require" => match words.as_slice() {
                [path, version, ..] => requirements.push((path.to_string(), version.to_string())),
                _ => output
                    .problems
                    .push(format!("line {}: require needs a module and a version", number.saturating_add(1))),
            },
            "replace" => {
                let Some(arrow) = words.iter().position(|word| *word == "=>") else {
                    output.problems.push(format!("line {}: replace without =>", number.saturating_add(1)));
                    continue;
                };
                let (old, new) = words.split_at(arrow);
                let new = new.get(1..).unwrap_or_default();
                match (old, new) {
                    ([path, version @ ..], [target, target_version @ ..])
                        if version.len() <= 1 && target_version.len() <= 1 =>
                    {
                        replacements.push(Replacement {
                            path: path.to_string(),
                            version: version.first().map(|version| version.to_string()),
                            target: target.to_string(),
                            target_version: target_version
                                .first()
                                .map(|version| version.to_string())
                                .unwrap_or_default(),
                        })
                    }
                    _ => output.problems.push(format!("line {}: malformed replace", number.saturating_add(1))),
                }
            }
            _ => {}
        }
    }
    if !saw_module && requirements.is_empty() {
        if !text.trim().is_empty() {
            output.problems.push("no module or require directive: not a go.mod file".to_string());
        }
        return output;
    }
    for (path, version) in requirements {
        let replacement = replacements.iter().rev().find(|replacement| {
            replacement.path == path && replacement.version.as_ref().is_none_or(|wanted| *wanted == version)
        });
        let (name, version) = match replacement {
            Some(replacement) => apply_replacement(&path, &replacement.target, &replacement.target_version),
            None => (path, version),
        };
        output.packages.push(go_package(&name, &version, location, Evidence::Declared));
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::MemoryReader;
    use crate::archive::elf::testing::{SectionSpec, build_elf64};
    use crate::test_fixtures::{repository_root, unpacked};

    /// The unpacked Go fixture binary `name`, unpacked once per test run: two tests
    /// unpacking one fixture at the same moment would race on its temporary file.
    fn fixture_binary(name: &str) -> Vec<u8> {
        static UNPACKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let path = {
            let _guard = UNPACKING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            unpacked(&format!("fixtures/binaries/{name}.zst"))
        };
        std::fs::read(path).unwrap()
    }

    /// Build info of a binary held in memory.
    fn build_info_of(bytes: Vec<u8>) -> Result<Option<BuildInfo>, BuildInfoError> {
        read_build_info(&mut MemoryReader(bytes))
    }

    fn location() -> Location {
        Location { volume: "disk.img".into(), partition: None, path: "/usr/local/bin/hello".into() }
    }

    fn names(catalogued: &Catalogued) -> Vec<(String, String)> {
        catalogued.packages.iter().map(|package| (package.name.clone(), package.version.clone())).collect()
    }

    #[test]
    fn wants_executables_and_go_mod() {
        let cataloger = GoCataloger;
        for (path, file_type, mode, size, wanted) in [
            ("/usr/local/bin/hello", FileType::Regular, 0o755, 2_000_000, true),
            ("/opt/app/server", FileType::Regular, 0o700, 50_000, true),
            ("/src/app/go.mod", FileType::Regular, 0o644, 300, true),
            ("/src/app/go.sum", FileType::Regular, 0o644, 300, false),
            ("/src/app/go.mod.bak", FileType::Regular, 0o644, 300, false),
            ("/root/go/pkg/mod/golang.org/x/text@v0.3.7/go.mod", FileType::Regular, 0o644, 300, false),
            ("/home/dev/pkg/module/go.mod", FileType::Regular, 0o644, 300, true),
            ("/usr/lib/libx.so", FileType::Regular, 0o644, 2_000_000, false),
            ("/usr/local/bin/tiny", FileType::Regular, 0o755, 64, false),
            ("/usr/bin/go", FileType::Symlink, 0o777, 20, false),
            ("/src/go.mod", FileType::Directory, 0o755, 4096, false),
        ] {
            let candidate =
                Candidate { path: path.as_bytes(), file_type, size, mode, installed_by_native_package: false };
            assert_eq!(cataloger.wants(&candidate), wanted, "{path}");
        }
    }

    #[test]
    fn a_native_packages_executables_are_not_wanted_but_its_go_mod_is() {
        let native = |path: &'static str, mode| Candidate {
            path: path.as_bytes(),
            file_type: FileType::Regular,
            size: 2_000_000,
            mode,
            installed_by_native_package: true,
        };
        assert!(!GoCataloger.wants(&native("/usr/bin/bash", 0o755)));
        assert!(GoCataloger.wants(&native("/usr/share/gocode/src/x/go.mod", 0o644)));
        assert!(GoCataloger.wants(&Candidate { installed_by_native_package: false, ..native("/usr/bin/bash", 0o755) }));
    }

    const MODULE_INFO: &str = "path\texample.org/hello\nmod\texample.org/hello\t(devel)\t\ndep\texample.org/greeting\tv1.2.3\n=>\t../greeting\t(devel)\t\ndep\tgolang.org/x/net\tv0.1.0\th1:abc=\n=>\tgithub.com/fork/net\tv0.1.1\th1:def=\ndep\tgolang.org/x/text\tv0.3.7\th1:xyz=\nbuild\t-compiler=gc\n";

    /// Module info framed the way the linker frames it.
    fn framed() -> Vec<u8> {
        let mut bytes = b"0123456789abcdef".to_vec();
        bytes.extend_from_slice(MODULE_INFO.as_bytes());
        bytes.extend_from_slice(b"fedcba9876543210");
        bytes
    }

    fn inline_section(version: &[u8], module_info: &[u8]) -> Vec<u8> {
        let mut section = BUILD_INFO_MAGIC.to_vec();
        section.extend_from_slice(&[8, FLAG_INLINE]);
        section.resize(BUILD_INFO_HEADER, 0);
        for string in [version, module_info] {
            let mut length = string.len();
            while length >= 0x80 {
                section.push((length as u8) | 0x80);
                length >>= 7;
            }
            section.push(length as u8);
            section.extend_from_slice(string);
        }
        section
    }

    fn expected() -> Vec<(String, String)> {
        [
            ("stdlib", "1.21.5"),
            ("example.org/hello", "(devel)"),
            ("example.org/greeting", "(devel)"),
            ("github.com/fork/net", "v0.1.1"),
            ("golang.org/x/text", "v0.3.7"),
        ]
        .iter()
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
    }

    #[test]
    fn inline_build_info() {
        let binary = build_elf64(&[
            SectionSpec { name: ".text", address: 0x1000, bytes: vec![0xc3; 64] },
            SectionSpec {
                name: ".go.buildinfo",
                address: 0x3000,
                bytes: inline_section(b"go1.21.5 X:boringcrypto", &framed()),
            },
        ]);
        let info = build_info_of(binary).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.21.5 X:boringcrypto");
        let catalogued = info.packages(&location());
        assert_eq!(catalogued.problems, Vec::<String>::new());
        assert_eq!(names(&catalogued), expected());
        let text = &catalogued.packages[4];
        assert_eq!(text.purl, "pkg:golang/golang.org/x/text@v0.3.7");
        assert_eq!(text.ecosystem, Ecosystem::Golang);
        assert_eq!(text.evidence, Evidence::Installed);
        assert_eq!(catalogued.packages[0].purl, "pkg:golang/stdlib@1.21.5");
    }

    /// The pre-1.18 layout: two pointers to Go string headers in `.data`.
    fn pointer_binary(big_endian: bool) -> Vec<u8> {
        let data_address = 0x5000u64;
        let version = b"go1.16.15".to_vec();
        let module_info = framed();
        let word = |value: u64| if big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
        let mut data = Vec::new();
        let strings_start = data_address + 32;
        data.extend_from_slice(&word(strings_start));
        data.extend_from_slice(&word(version.len() as u64));
        data.extend_from_slice(&word(strings_start + version.len() as u64));
        data.extend_from_slice(&word(module_info.len() as u64));
        data.extend_from_slice(&version);
        data.extend_from_slice(&module_info);
        let mut section = BUILD_INFO_MAGIC.to_vec();
        section.extend_from_slice(&[8, if big_endian { FLAG_BIG_ENDIAN } else { 0 }]);
        section.extend_from_slice(&word(data_address));
        section.extend_from_slice(&word(data_address + 16));
        build_elf64(&[
            SectionSpec { name: ".go.buildinfo", address: 0x4000, bytes: section },
            SectionSpec { name: ".data", address: data_address, bytes: data },
        ])
    }

    #[test]
    fn pointer_build_info_both_byte_orders() {
        for big_endian in [false, true] {
            let info = build_info_of(pointer_binary(big_endian)).unwrap().unwrap();
            assert_eq!(info.go_version, "go1.16.15");
            let mut wanted = expected();
            wanted[0].1 = "1.16.15".into();
            assert_eq!(names(&info.packages(&location())), wanted);
        }
    }

    #[test]
    fn non_go_and_broken_binaries() {
        let plain = build_elf64(&[SectionSpec { name: ".text", address: 0x1000, bytes: vec![0; 64] }]);
        assert_eq!(build_info_of(plain).unwrap(), None);
        assert_eq!(build_info_of(b"#!/bin/sh\nexec true\n".repeat(10)).unwrap(), None);
        let bad_magic = build_elf64(&[SectionSpec { name: ".go.buildinfo", address: 0x1000, bytes: vec![0; 32] }]);
        assert!(matches!(build_info_of(bad_magic), Err(BuildInfoError::Malformed(_))));
        let mut lying = inline_section(b"go1.21.5", &framed());
        lying[BUILD_INFO_HEADER] = 0xff; // a length far past the section
        lying[BUILD_INFO_HEADER + 1] = 0xff;
        lying[BUILD_INFO_HEADER + 2] = 0x7f;
        let binary = build_elf64(&[SectionSpec { name: ".go.buildinfo", address: 0x1000, bytes: lying }]);
        assert!(matches!(build_info_of(binary), Err(BuildInfoError::Malformed(_))));
        let endless = build_elf64(&[SectionSpec {
            name: ".go.buildinfo",
            address: 0x1000,
            bytes: [BUILD_INFO_MAGIC.as_slice(), &[8, FLAG_INLINE], &[0; 16], &[0xff; 20]].concat(),
        }]);
        assert!(matches!(build_info_of(endless), Err(BuildInfoError::Malformed(_))));
        // Pointers into nowhere.
        let mut wild = pointer_binary(false);
        let position = wild.windows(14).position(|window| window == BUILD_INFO_MAGIC).unwrap();
        wild[position + 16..position + 24].copy_from_slice(&0xdead_beef_u64.to_le_bytes());
        assert!(matches!(build_info_of(wild), Err(BuildInfoError::Elf(_))));
        // Every truncation of a real-shaped binary is an error, never a panic.
        let binary = pointer_binary(false);
        for length in (0..binary.len()).step_by(7) {
            assert!(build_info_of(binary[..length].to_vec()).is_err() || length < 4, "cut at {length}");
        }
    }

    #[test]
    fn go_mod_requirements_with_replacements() {
        let text = "module example.org/app\n\ngo 1.21\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.0\n\tgolang.org/x/net v0.7.0 // indirect\n\texample.org/local v1.0.0\n)\n\nrequire golang.org/x/text v0.3.7\n\nreplace golang.org/x/net v0.7.0 => golang.org/x/net v0.17.0\nreplace (\n\texample.org/local => ../local\n\tgithub.com/gin-gonic/gin v1.8.0 => github.com/fork/gin v1.8.1\n)\n";
        let catalogued = parse_go_mod(text, &location());
        assert_eq!(catalogued.problems, Vec::<String>::new());
        assert_eq!(
            names(&catalogued),
            [
                ("github.com/gin-gonic/gin", "v1.9.0"),
                ("golang.org/x/net", "v0.17.0"),
                ("example.org/local", "(devel)"),
                ("golang.org/x/text", "v0.3.7")
            ]
            .map(|(name, version)| (name.to_string(), version.to_string()))
        );
        assert!(catalogued.packages.iter().all(|package| package.evidence == Evidence::Declared));
        assert!(parse_go_mod("", &location()).packages.is_empty());
        assert!(parse_go_mod("", &location()).problems.is_empty());
        let garbage = parse_go_mod("{\"this\": \"is json\"}", &location());
        assert!(garbage.packages.is_empty() && garbage.problems.len() == 1);
        let broken = parse_go_mod("module x\nrequire (\n\tonly-a-path\n", &location());
        assert_eq!(broken.problems, ["line 3: require needs a module and a version"]);
    }

    /// The committed Go binaries built by `scripts/make-fixtures-binaries.sh` (amd64, and
    /// 32-bit big-endian MIPS) give exactly what `go version -m` says.
    #[test]
    fn real_go_binary_fixtures() {
        for name in ["go-hello", "go-hello-mips"] {
            let info = build_info_of(fixture_binary(name)).unwrap().unwrap();
            let catalogued = info.packages(&location());
            assert_eq!(catalogued.problems, Vec::<String>::new());
            let expected =
                std::fs::read_to_string(repository_root().join(format!("fixtures/binaries/{name}.expected"))).unwrap();
            let actual: Vec<String> =
                names(&catalogued).iter().map(|(name, version)| format!("{name} {version}")).collect();
            assert_eq!(actual, expected.lines().collect::<Vec<_>>(), "{name}");
            // The go.mod it was built from declares the same dependencies.
            let go_mod = std::fs::read_to_string(repository_root().join("fixtures/binaries/go.mod")).unwrap();
            let declared = parse_go_mod(&go_mod, &location());
            assert_eq!(names(&declared), names(&catalogued)[2..].to_vec());
        }
    }

    /// Thousands of single-byte corruptions of the real binary's ELF header, section table
    /// and build info: each gives build info or an error, never a panic.
    #[test]
    fn corrupted_real_binary_never_panics() {
        let original = fixture_binary("go-hello");
        let elf = ElfFile::read(&mut MemoryReader(original.clone())).unwrap();
        let table_start = usize::try_from(u64::from_le_bytes(original[0x28..0x30].try_into().unwrap())).unwrap();
        let build_info = elf.section(b".go.buildinfo").unwrap();
        let regions = [
            (0, 64),
            (table_start, original.len() - table_start),
            (build_info.offset as usize, build_info.size as usize),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut bytes = original.clone();
        for round in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (start, length) = regions[round % regions.len()];
            let position = start + (state % length as u64) as usize;
            let saved = bytes[position];
            bytes[position] = (state >> 32) as u8;
            let _ = read_build_info(&mut MemoryReader(bytes.clone()));
            bytes[position] = saved;
        }
    }

    /// Corpus: every go.mod-like file in `../shared/data/pkgdb/go` parses or gives a problem.
    #[test]
    fn shared_corpus_go_mod() {
        let root = repository_root()
            .join("../shared/data/pkgdb/go/google__osv-scalibr/extractor/filesystem/language/golang/gomod/testdata");
        if !root.exists() {
            println!("skipped: ../shared/data not present");
            return;
        }
        let parse = |name: &str| parse_go_mod(&std::fs::read_to_string(root.join(name)).unwrap(), &location());
        let two = parse("two-packages.mod");
        assert_eq!(two.packages.len(), 2, "{:?}", names(&two));
        assert_eq!(parse("one-package.mod").packages.len(), 1);
        assert!(parse("empty.mod").packages.is_empty());
        let not_go_mod = parse("not-go-mod.mod");
        assert!(not_go_mod.packages.is_empty() && not_go_mod.problems.len() == 1);
        let forks: Vec<(String, String)> = [("example.com/fork/foe", "v1.4.5"), ("example.com/fork/foe", "v1.4.2")]
            .map(|(name, version)| (name.to_string(), version.to_string()))
            .to_vec();
        assert_eq!(names(&parse("replace-different.mod")), forks);
        assert_eq!(
            names(&parse("replace-no-version.mod")).iter().filter(|(name, _)| name == "example.com/fork/net").count(),
            2
        );
        assert_eq!(
            names(&parse("replace-not-required.mod"))[0],
            ("golang.org/x/net".to_string(), "v0.5.6".to_string())
        );
        assert_eq!(names(&parse("replace-local.mod"))[0], ("golang.org/x/net".to_string(), "(devel)".to_string()));
        let mut files = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "mod") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let catalogued = parse(&name);
                for package in &catalogued.packages {
                    assert!(!package.name.is_empty() && !package.version.is_empty(), "{name}: {package:?}");
                }
                files += 1;
            }
        }
        assert!(files >= 10, "only {files} go.mod files");
    }
}
