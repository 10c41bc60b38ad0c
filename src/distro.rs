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

    /// The release as the vendor names its support lifetime: the major version, except
    /// Ubuntu (`22.04`) and Amazon Linux 1 (`2018.03`), which are year-and-month releases.
    fn support_release(&self) -> Option<String> {
        let version = self.version_id.as_deref()?;
        match self.id.as_str() {
            "ubuntu" | "amzn" => {
                let mut parts = version.split('.');
                let first = parts.next()?;
                Some(match parts.next() {
                    Some(second) => format!("{first}.{second}"),
                    None => first.to_string(),
                })
            }
            _ => self.major_version(),
        }
    }

    /// The vendor's end of (standard) support as an ISO date (`2026-06-30`), when known.
    pub fn end_of_life(&self) -> Option<&'static str> {
        let release = self.support_release()?;
        END_OF_LIFE
            .iter()
            .find(|(ids, known_release, _)| ids.contains(&self.id.as_str()) && *known_release == release)
            .map(|(_, _, date)| *date)
    }

    /// Whether the end of life has passed on `today` (an ISO date); `None` when it is unknown.
    /// The published date is the last supported day, so it is reached the day after.
    pub fn end_of_life_reached(&self, today: &str) -> Option<bool> {
        // ISO dates of the same length order as strings do.
        self.end_of_life().map(|date| today > date)
    }
}

/// End of support per (os-release `ID`s, release): the vendors' published end of standard
/// support as known to us when this table was written; the dates need spot-checking
/// against the vendors' pages and updating when a vendor extends a lifetime. For Debian it
/// is the end of LTS, which still publishes security fixes (and Debian advisories).
/// CentOS is not grouped with the RHEL rebuilds from 8 on: CentOS Linux 8 ended on
/// 2021-12-31 and CentOS Stream 8 (the same `ID` and `VERSION_ID`) on 2024-05-31, so the
/// later one is used; CentOS Stream 9 ends with RHEL 9's full support.
const END_OF_LIFE: &[(&[&str], &str, &str)] = &[
    (&["amzn"], "2018.03", "2023-12-31"),
    (&["amzn"], "2", "2026-06-30"),
    (&["amzn"], "2023", "2029-06-30"),
    (&["rhel", "centos", "rocky", "almalinux", "ol"], "7", "2024-06-30"),
    (&["rhel", "rocky", "almalinux", "ol"], "8", "2029-05-31"),
    (&["rhel", "rocky", "almalinux", "ol"], "9", "2032-05-31"),
    (&["centos"], "8", "2024-05-31"),
    (&["centos"], "9", "2027-05-31"),
    (&["debian"], "10", "2024-06-30"),
    (&["debian"], "11", "2026-08-31"),
    (&["debian"], "12", "2028-06-30"),
    (&["ubuntu"], "18.04", "2023-05-31"),
    (&["ubuntu"], "20.04", "2025-05-31"),
    (&["ubuntu"], "22.04", "2027-04-30"),
    (&["ubuntu"], "24.04", "2029-04-30"),
    (&["alpine"], "3.17", "2024-11-22"),
    (&["alpine"], "3.18", "2025-05-09"),
    (&["alpine"], "3.19", "2025-11-01"),
    (&["alpine"], "3.20", "2026-04-01"),
    (&["alpine"], "3.21", "2026-11-01"),
    (&["sles"], "12", "2024-10-31"),
    (&["sles"], "15", "2031-07-31"),
];

/// Seconds since 1970 by the system clock (a clock before 1970 counts as 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// Today's UTC date as ISO `YYYY-MM-DD`, from the system clock (a clock before 1970 counts as 1970).
pub fn today_utc() -> String {
    let seconds = unix_now();
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so no date crate is needed for one comparison.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (day 1..=31, month 1..=12).
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
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

    fn distro(id: &str, version_id: Option<&str>) -> Distro {
        Distro { id: id.to_string(), version_id: version_id.map(str::to_string), ..Distro::default() }
    }

    #[test]
    fn end_of_life_by_release() {
        for (id, version_id, expected) in [
            ("amzn", Some("2018.03"), Some("2023-12-31")),
            ("amzn", Some("2"), Some("2026-06-30")),
            ("amzn", Some("2023"), Some("2029-06-30")),
            ("rhel", Some("7.9"), Some("2024-06-30")),
            ("centos", Some("7"), Some("2024-06-30")),
            ("centos", Some("8"), Some("2024-05-31")),
            ("centos", Some("9"), Some("2027-05-31")),
            ("rocky", Some("8.10"), Some("2029-05-31")),
            ("almalinux", Some("9.4"), Some("2032-05-31")),
            ("ol", Some("8.9"), Some("2029-05-31")),
            ("rhel", Some("10.0"), None),
            ("debian", Some("10"), Some("2024-06-30")),
            ("debian", Some("12"), Some("2028-06-30")),
            ("debian", Some("13"), None),
            ("ubuntu", Some("18.04"), Some("2023-05-31")),
            ("ubuntu", Some("22.04"), Some("2027-04-30")),
            // An interim release is not an LTS one with the same major number.
            ("ubuntu", Some("22.10"), None),
            ("alpine", Some("3.20.3"), Some("2026-04-01")),
            ("alpine", Some("3.17.0"), Some("2024-11-22")),
            ("alpine", Some("3.2.3"), None),
            ("sles", Some("15.5"), Some("2031-07-31")),
            ("sles", Some("12.5"), Some("2024-10-31")),
            ("opensuse-leap", Some("15.5"), None),
            ("fedora", Some("40"), None),
            ("debian", None, None),
        ] {
            assert_eq!(distro(id, version_id).end_of_life(), expected, "{id} {version_id:?}");
        }
    }

    #[test]
    fn end_of_life_is_reached_the_day_after() {
        let debian = distro("debian", Some("10"));
        assert_eq!(debian.end_of_life_reached("2024-06-29"), Some(false));
        assert_eq!(debian.end_of_life_reached("2024-06-30"), Some(false));
        assert_eq!(debian.end_of_life_reached("2024-07-01"), Some(true));
        assert_eq!(distro("debian", Some("13")).end_of_life_reached("2100-01-01"), None);
    }

    #[test]
    fn civil_dates_from_day_counts() {
        for (days, expected) in [
            (0, (1970, 1, 1)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (19_723, (2024, 1, 1)),
            (19_782, (2024, 2, 29)),
            (20_424, (2025, 12, 2)),
            (-1, (1969, 12, 31)),
        ] {
            assert_eq!(civil_from_days(days), expected, "{days}");
        }
        let today = today_utc();
        assert_eq!(today.len(), 10, "{today}");
        assert!(today.as_str() > "2024-01-01", "{today}");
    }

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
