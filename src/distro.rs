//! Which Linux distribution a filesystem holds, read before any cataloging.
//!
//! os-release (`/etc/os-release`, then `/usr/lib/os-release`) is the standard; older or
//! minimal systems are recognised from `/etc/lsb-release` and `/etc/debian_version`.
//! This is the one place that turns a distro into a purl `distro=` qualifier and an
//! advisory ecosystem name, so catalogers and the matcher cannot disagree.

use crate::fs::{self, Filesystem, FsError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Largest release file read (they are a few hundred bytes).
const RELEASE_FILE_LIMIT: u64 = 64 * 1024;

/// A detected distribution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID` (lower case): `debian`, `ubuntu`, `amzn`, `alpine`, …
    pub id: String,
    /// `VERSION_ID`: `12`, `22.04`, `2023`, `3.20.3`.
    pub version_id: Option<String>,
    /// `VERSION_CODENAME`: `bookworm`.
    pub version_codename: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// `ID_LIKE`, split on spaces.
    pub id_like: Vec<String>,
    /// The file it was read from.
    pub source_file: String,
}

impl Distro {
    /// The `distro=` purl qualifier: `debian-12`, `ubuntu-22.04`, `alpine-3.20.3`.
    pub fn purl_qualifier(&self) -> String {
        match &self.version_id {
            Some(version) => format!("{}-{}", self.id, version),
            None => self.id.clone(),
        }
    }

    /// The purl namespace for OS packages: `debian`, `ubuntu`, `alpine`, `amzn`, …
    pub fn purl_namespace(&self) -> &str {
        &self.id
    }

    /// The major version (`12` of `12.4`, `3.20` for Alpine).
    pub fn major_version(&self) -> Option<String> {
        let version = self.version_id.as_deref()?;
        if self.id == "alpine" {
            let mut parts = version.split('.');
            return Some(format!("{}.{}", parts.next()?, parts.next().unwrap_or("0")));
        }
        Some(version.split('.').next()?.to_string())
    }
}

/// Parse os-release text: `KEY=value` lines with shell-style quoting and escapes.
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else { continue };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
            continue;
        }
        fields.insert(key.to_string(), unquote(raw.trim()));
    }
    fields
}

fn unquote(raw: &str) -> String {
    let quote = match raw.chars().next() {
        Some(quote @ ('"' | '\'')) => quote,
        _ => return raw.to_string(),
    };
    let mut value = String::new();
    let mut chars = raw[1..].chars();
    while let Some(character) = chars.next() {
        match character {
            c if c == quote => break,
            '\\' if quote == '"' => {
                if let Some(escaped) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    value
}

fn from_os_release(fields: &BTreeMap<String, String>, source_file: &str) -> Option<Distro> {
    let id = fields.get("ID")?.to_ascii_lowercase();
    if id.is_empty() {
        return None;
    }
    Some(Distro {
        id,
        version_id: fields.get("VERSION_ID").filter(|value| !value.is_empty()).cloned(),
        version_codename: fields.get("VERSION_CODENAME").filter(|value| !value.is_empty()).cloned(),
        pretty_name: fields.get("PRETTY_NAME").cloned(),
        id_like: fields
            .get("ID_LIKE")
            .map(|like| like.split_whitespace().map(str::to_ascii_lowercase).collect())
            .unwrap_or_default(),
        source_file: source_file.to_string(),
    })
}

/// Read a release file through symlinks inside the image; `Ok(None)` when it is absent.
fn read_release_file(filesystem: &dyn Filesystem, path: &str) -> Result<Option<String>, FsError> {
    let resolved = match fs::resolve(filesystem, path.as_bytes()) {
        Ok(resolved) => resolved,
        Err(FsError::NotFound | FsError::NotADirectory) => return Ok(None),
        Err(error) => return Err(error),
    };
    match fs::read_capped(filesystem, &resolved, RELEASE_FILE_LIMIT) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(FsError::NotFound | FsError::NotAFile) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Detect the distro on a filesystem. Problems reading release files are returned as
/// messages (the path and the cause); an absent distro is `None`, not an error.
pub fn detect(filesystem: &dyn Filesystem) -> (Option<Distro>, Vec<String>) {
    let mut problems = Vec::new();
    let read = |path: &str, problems: &mut Vec<String>| match read_release_file(filesystem, path) {
        Ok(text) => text,
        Err(error) => {
            problems.push(format!("{path}: {error}"));
            None
        }
    };
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(text) = read(path, &mut problems) {
            if let Some(distro) = from_os_release(&parse_os_release(&text), path) {
                return (Some(distro), problems);
            }
            problems.push(format!("{path}: no ID field"));
        }
    }
    if let Some(text) = read("/etc/lsb-release", &mut problems) {
        let fields = parse_os_release(&text);
        if let Some(id) = fields.get("DISTRIB_ID") {
            let distro = Distro {
                id: id.to_ascii_lowercase(),
                version_id: fields.get("DISTRIB_RELEASE").cloned(),
                version_codename: fields.get("DISTRIB_CODENAME").cloned(),
                pretty_name: fields.get("DISTRIB_DESCRIPTION").cloned(),
                id_like: Vec::new(),
                source_file: "/etc/lsb-release".to_string(),
            };
            return (Some(distro), problems);
        }
    }
    if let Some(text) = read("/etc/debian_version", &mut problems) {
        let version = text.trim();
        // `12.4` names a release; `trixie/sid` is testing/unstable with no number.
        let version_id = version
            .split('.')
            .next()
            .filter(|major| !major.is_empty() && major.bytes().all(|byte| byte.is_ascii_digit()))
            .map(str::to_string);
        let distro = Distro {
            id: "debian".to_string(),
            pretty_name: Some(format!("Debian {version}")),
            version_id,
            version_codename: None,
            id_like: Vec::new(),
            source_file: "/etc/debian_version".to_string(),
        };
        return (Some(distro), problems);
    }
    (None, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::testing::MemoryFilesystem;

    #[test]
    fn parses_quoting() {
        let fields = parse_os_release(
            "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID='12'\nNAME=\"a \\\"q\\\" b\"\nbad line\n=x\n",
        );
        assert_eq!(fields["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(fields["ID"], "debian");
        assert_eq!(fields["VERSION_ID"], "12");
        assert_eq!(fields["NAME"], "a \"q\" b");
        assert_eq!(fields.len(), 4);
    }

    #[test]
    fn detects_through_symlink_then_falls_back() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem
            .file("/usr/lib/os-release", b"ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n")
            .symlink("/etc/os-release", "../usr/lib/os-release");
        let (distro, problems) = detect(&filesystem);
        let distro = distro.unwrap();
        assert_eq!(distro.purl_qualifier(), "debian-12");
        assert_eq!(distro.version_codename.as_deref(), Some("bookworm"));
        assert!(problems.is_empty());

        let mut old = MemoryFilesystem::new();
        old.file("/etc/debian_version", b"8.11\n");
        assert_eq!(detect(&old).0.unwrap().purl_qualifier(), "debian-8");

        let mut sid = MemoryFilesystem::new();
        sid.file("/etc/debian_version", b"trixie/sid\n");
        assert_eq!(detect(&sid).0.unwrap().purl_qualifier(), "debian");

        assert!(detect(&MemoryFilesystem::new()).0.is_none());
    }

    #[test]
    fn release_file_loop_is_a_problem_not_a_hang() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.symlink("/etc/os-release", "/etc/os-release");
        let (distro, problems) = detect(&filesystem);
        assert!(distro.is_none());
        assert!(problems[0].contains("too many levels"));
    }
}
