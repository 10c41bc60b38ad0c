//! Which Linux distribution a filesystem holds, read before any cataloging.
//!
//! os-release (`/etc/os-release`, then `/usr/lib/os-release`) is the standard; older or
//! minimal systems are recognised from the legacy release files, each normalised to the
//! `ID`/`VERSION_ID` the same release's os-release would give (so a purl does not change
//! with the file it came from): `/etc/oracle-release`, `/etc/system-release` and
//! `/etc/redhat-release` (Amazon Linux 1 and 2, RHEL, CentOS, Rocky, AlmaLinux, Oracle,
//! Fedora), `/etc/SuSE-release` (SLES and openSUSE before 15), `/etc/alpine-release`,
//! then `/etc/lsb-release` and `/etc/debian_version`.
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

/// Legacy release files, most specific first: Oracle Linux also has a `redhat-release`,
/// and `system-release` is a link to the distro's own file on the Red Hat family.
const LEGACY_RELEASE_FILES: [&str; 5] =
    ["/etc/oracle-release", "/etc/system-release", "/etc/redhat-release", "/etc/SuSE-release", "/etc/alpine-release"];

/// Names that open a Red Hat style release line, and the os-release `ID` of each.
const RELEASE_LINE_NAMES: [(&str, &str); 7] = [
    ("Amazon Linux", "amzn"),
    ("Red Hat Enterprise Linux", "rhel"),
    ("CentOS", "centos"),
    ("Rocky Linux", "rocky"),
    ("AlmaLinux", "almalinux"),
    ("Oracle Linux", "ol"),
    ("Fedora", "fedora"),
];

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

fn legacy_distro(id: &str, version_id: Option<String>, pretty_name: &str, source_file: &str) -> Distro {
    Distro {
        id: id.to_string(),
        version_id,
        version_codename: None,
        pretty_name: Some(pretty_name.to_string()),
        id_like: Vec::new(),
        source_file: source_file.to_string(),
    }
}

/// A distro from a legacy release file's text, normalised to what os-release would say.
fn from_legacy_release(path: &str, text: &str) -> Option<Distro> {
    let line = first_line(text);
    match path {
        "/etc/alpine-release" => {
            let version = line.split_whitespace().next()?;
            version
                .starts_with(|character: char| character.is_ascii_digit())
                .then(|| legacy_distro("alpine", Some(version.to_string()), &format!("Alpine Linux v{version}"), path))
        }
        "/etc/SuSE-release" => from_suse_release(text, path),
        _ => from_release_line(line, path),
    }
}

/// `Rocky Linux release 9.4 (Blue Onyx)`, `Amazon Linux release 2 (Karoo)`, …
fn from_release_line(line: &str, path: &str) -> Option<Distro> {
    let (_, id) = RELEASE_LINE_NAMES.iter().find(|(name, _)| line.starts_with(name))?;
    let (_, after) = line.split_once(" release ")?;
    let version = after.split_whitespace().next().filter(|version| version.starts_with(|c: char| c.is_ascii_digit()));
    let major = version.and_then(|version| version.split('.').next());
    let version_id = match *id {
        // CentOS's os-release says `7`, not `7.9.2009`.
        "centos" => major,
        // Amazon Linux 2023 is `2023` in os-release, though its release line names the
        // point release (`2023.5.20240805`); Amazon Linux 1 keeps `2018.03`.
        "amzn" if major.and_then(|major| major.parse::<u32>().ok()).is_some_and(|major| major >= 2022) => major,
        _ => version,
    };
    Some(legacy_distro(id, version_id.map(str::to_string), line, path))
}

/// `/etc/SuSE-release`: a title line, then `VERSION = 12` and `PATCHLEVEL = 5`, which
/// os-release writes as `12.5` (and `12` for patch level 0).
fn from_suse_release(text: &str, path: &str) -> Option<Distro> {
    let line = first_line(text);
    let id = if line.starts_with("SUSE Linux Enterprise Server") {
        "sles"
    } else if line.starts_with("SUSE Linux Enterprise Desktop") {
        "sled"
    } else if line.starts_with("openSUSE Leap") {
        "opensuse-leap"
    } else if line.starts_with("openSUSE") {
        "opensuse"
    } else {
        return None;
    };
    let fields = parse_os_release(&text.replace(" = ", "="));
    let version = fields.get("VERSION").filter(|version| !version.is_empty());
    let version_id = match (version, fields.get("PATCHLEVEL").map(String::as_str)) {
        (Some(version), Some(patch_level)) if patch_level != "0" && !version.contains('.') => {
            Some(format!("{version}.{patch_level}"))
        }
        (version, _) => version.cloned(),
    };
    Some(legacy_distro(id, version_id, line, path))
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
    for path in LEGACY_RELEASE_FILES {
        if let Some(text) = read(path, &mut problems) {
            if let Some(distro) = from_legacy_release(path, &text) {
                return (Some(distro), problems);
            }
            problems.push(format!("{path}: not a release snapscan recognises: {:?}", first_line(&text)));
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

    /// Release files to write, then the expected `ID`, `VERSION_ID` and source file.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);

    /// Detect from the given files and give `(id, version_id, source file)`.
    fn detected(files: &[(&str, &str)]) -> (String, Option<String>, String) {
        let mut filesystem = MemoryFilesystem::new();
        for (path, text) in files {
            filesystem.file(path, text.as_bytes());
        }
        let (distro, problems) = detect(&filesystem);
        assert!(problems.is_empty(), "{problems:?}");
        let distro = distro.expect("a distro");
        (distro.id, distro.version_id, distro.source_file)
    }

    fn expect(files: &[(&str, &str)], id: &str, version_id: &str, source_file: &str) {
        let found = detected(files);
        assert_eq!(found, (id.to_string(), Some(version_id.to_string()), source_file.to_string()), "{files:?}");
    }

    #[test]
    fn os_release_of_each_family() {
        let os_release = |text: &'static str| [("/etc/os-release", text)];
        for (text, id, version_id) in [
            (
                "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\nPRETTY_NAME=\"Amazon Linux 2023.5.20240805\"\n",
                "amzn",
                "2023",
            ),
            (
                "NAME=\"Amazon Linux\"\nVERSION=\"2\"\nID=\"amzn\"\nID_LIKE=\"centos rhel fedora\"\nVERSION_ID=\"2\"\nPRETTY_NAME=\"Amazon Linux 2\"\n",
                "amzn",
                "2",
            ),
            (
                "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n",
                "rhel",
                "9.4",
            ),
            (
                "NAME=\"Rocky Linux\"\nVERSION=\"9.4 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
                "rocky",
                "9.4",
            ),
            (
                "NAME=\"AlmaLinux\"\nVERSION=\"8.10 (Cerulean Leopard)\"\nID=\"almalinux\"\nVERSION_ID=\"8.10\"\n",
                "almalinux",
                "8.10",
            ),
            ("NAME=\"Oracle Linux Server\"\nVERSION=\"8.9\"\nID=\"ol\"\nVERSION_ID=\"8.9\"\n", "ol", "8.9"),
            ("NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nID=\"sles\"\nID_LIKE=\"suse\"\n", "sles", "15.5"),
            (
                "NAME=\"openSUSE Leap\"\nVERSION=\"15.6\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\nVERSION_ID=\"15.6\"\n",
                "opensuse-leap",
                "15.6",
            ),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
                "alpine",
                "3.20.3",
            ),
            (
                "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n",
                "ubuntu",
                "22.04",
            ),
            (
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
                "debian",
                "12",
            ),
        ] {
            // A legacy file beside os-release must not win over it.
            let files = [os_release(text)[0], ("/etc/system-release", "Fedora release 39 (Thirty Nine)\n")];
            expect(&files, id, version_id, "/etc/os-release");
        }
    }

    #[test]
    fn legacy_release_files_without_os_release() {
        let table: [Case<'_>; 15] = [
            (
                &[("/etc/system-release", "Amazon Linux AMI release 2018.03\n")],
                "amzn",
                "2018.03",
                "/etc/system-release",
            ),
            (&[("/etc/system-release", "Amazon Linux release 2 (Karoo)\n")], "amzn", "2", "/etc/system-release"),
            (
                &[("/etc/system-release", "Amazon Linux release 2023.5.20240805 (Amazon Linux)\n")],
                "amzn",
                "2023",
                "/etc/system-release",
            ),
            (
                &[("/etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n")],
                "rhel",
                "7.9",
                "/etc/redhat-release",
            ),
            (
                &[("/etc/redhat-release", "Red Hat Enterprise Linux release 8.10 (Ootpa)\n")],
                "rhel",
                "8.10",
                "/etc/redhat-release",
            ),
            (
                &[("/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n")],
                "centos",
                "7",
                "/etc/redhat-release",
            ),
            (&[("/etc/redhat-release", "CentOS Stream release 9\n")], "centos", "9", "/etc/redhat-release"),
            (
                &[("/etc/redhat-release", "Rocky Linux release 9.4 (Blue Onyx)\n")],
                "rocky",
                "9.4",
                "/etc/redhat-release",
            ),
            (
                &[("/etc/redhat-release", "AlmaLinux release 9.4 (Seafoam Ocelot)\n")],
                "almalinux",
                "9.4",
                "/etc/redhat-release",
            ),
            (
                &[
                    ("/etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n"),
                    ("/etc/oracle-release", "Oracle Linux Server release 7.9\n"),
                ],
                "ol",
                "7.9",
                "/etc/oracle-release",
            ),
            (&[("/etc/redhat-release", "Fedora release 39 (Thirty Nine)\n")], "fedora", "39", "/etc/redhat-release"),
            (
                &[("/etc/SuSE-release", "SUSE Linux Enterprise Server 12 (x86_64)\nVERSION = 12\nPATCHLEVEL = 5\n")],
                "sles",
                "12.5",
                "/etc/SuSE-release",
            ),
            (
                &[("/etc/SuSE-release", "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 0\n")],
                "sles",
                "11",
                "/etc/SuSE-release",
            ),
            (
                &[("/etc/SuSE-release", "openSUSE 42.3 (x86_64)\nVERSION = 42.3\nCODENAME = Malachite\n")],
                "opensuse",
                "42.3",
                "/etc/SuSE-release",
            ),
            (&[("/etc/alpine-release", "3.20.3\n")], "alpine", "3.20.3", "/etc/alpine-release"),
        ];
        for (files, id, version_id, source_file) in table {
            expect(files, id, version_id, source_file);
        }
        let ubuntu = [("/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=16.04\nDISTRIB_CODENAME=xenial\n")];
        assert_eq!(
            detected(&ubuntu),
            ("ubuntu".to_string(), Some("16.04".to_string()), "/etc/lsb-release".to_string())
        );
        let debian = [("/etc/debian_version", "10.13\n")];
        assert_eq!(
            detected(&debian),
            ("debian".to_string(), Some("10".to_string()), "/etc/debian_version".to_string())
        );
    }

    #[test]
    fn unknown_legacy_release_is_a_problem_then_falls_through() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/etc/redhat-release", b"Mystery Linux 1\n").file("/etc/alpine-release", b"edge-garbage\n");
        filesystem.file("/etc/debian_version", b"12.5\n");
        let (distro, problems) = detect(&filesystem);
        assert_eq!(distro.unwrap().purl_qualifier(), "debian-12");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("/etc/redhat-release: not a release"));
        let mut empty = MemoryFilesystem::new();
        empty.file("/etc/system-release", b"");
        let (distro, problems) = detect(&empty);
        assert!(distro.is_none());
        assert_eq!(problems.len(), 1);
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
