//! Test support: committed fixture images are zstd-compressed (git packs them small and
//! diffs stay small); tests unpack each one once into `target/fixture-cache/`.
//!
//! Unit tests use it as `crate::test_fixtures`; integration tests include this same file
//! with `#[path = "../src/test_fixtures.rs"] mod test_fixtures;`.

// Each integration test uses only some of these helpers.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of an unpacked copy of `relative` (e.g. `fixtures/images/ext4-gpt.img.zst`); a
/// path not ending in `.zst` is returned as it is. Safe to call from parallel tests.
pub fn unpacked(relative: &str) -> PathBuf {
    let source = repository_root().join(relative);
    let Some(stem) = relative.strip_suffix(".zst") else { return source };
    let compressed = fs::read(&source).unwrap_or_else(|error| panic!("fixture {}: {error}", source.display()));
    // Name the copy by the compressed bytes so an updated fixture is unpacked again.
    let digest = compressed
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3));
    let name = Path::new(stem).file_name().unwrap_or_default().to_string_lossy().into_owned();
    let cache = repository_root().join("target").join("fixture-cache");
    let target = cache.join(format!("{digest:016x}-{name}"));
    if target.exists() {
        return target;
    }
    fs::create_dir_all(&cache).expect("create fixture cache");
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(compressed.as_slice()).expect("zstd header");
    let mut bytes = Vec::new();
    decoder.read_to_end(&mut bytes).expect("zstd body");
    // One temporary name per thread: tests of one binary unpack the same image at once.
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let temporary = cache.join(format!("{digest:016x}-{name}.{}.{thread}.partial", std::process::id()));
    fs::write(&temporary, &bytes).expect("write unpacked fixture");
    fs::rename(&temporary, &target).expect("rename unpacked fixture");
    target
}

/// The findings of a JSON report (`snapscan … -f json` output) as sorted
/// `(package, id, severity, fixed_version)` tuples, for comparing whole result sets.
pub fn report_findings(json: &[u8]) -> Vec<(String, String, String, Option<String>)> {
    let report: serde_json::Value = serde_json::from_slice(json).expect("a JSON report");
    let text = |value: &serde_json::Value| value.as_str().expect("a string field").to_string();
    let mut findings: Vec<_> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            (
                text(&finding["package"]),
                text(&finding["id"]),
                text(&finding["severity"]),
                finding["fixed_version"].as_str().map(str::to_string),
            )
        })
        .collect();
    findings.sort();
    findings
}
