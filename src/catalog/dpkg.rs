//! Debian packages from dpkg's database: `/var/lib/dpkg/status`, and the one-stanza files
//! in `/var/lib/dpkg/status.d/` that distroless images use instead.
//!
//! Debian advisories key on the *source* package, so `Source:` is parsed into a name and
//! an optional `(version)`: for a binNMU (`+b1`) the source version differs from the
//! binary one. Fully installed packages are kept; half-installed, unpacked and
//! half-configured ones are kept and marked (their files may be on disk); packages that
//! left only config files, or are not installed, are dropped.

use super::{
    Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, Package, WantedFile,
    purl_encode,
};
use crate::distro::Distro;

const STATUS_PATH: &[u8] = b"/var/lib/dpkg/status";
const STATUS_DIRECTORY: &[u8] = b"/var/lib/dpkg/status.d";

/// dpkg `status` and distroless `status.d/*`.
pub struct DpkgCataloger;

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        if candidate.path == STATUS_PATH {
            return true;
        }
        // status.d holds `<package>` stanzas beside `<package>.md5sums` checksum lists.
        crate::fs::path::parent(candidate.path) == STATUS_DIRECTORY && !candidate.file_name().ends_with(b".md5sums")
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let bytes = match file.bytes(DEFAULT_READ_LIMIT) {
            Ok(bytes) => bytes,
            Err(error) => return Catalogued::problem(format!("cannot read: {error}")),
        };
        let text = String::from_utf8_lossy(&bytes);
        let distroless = file.path != STATUS_PATH;
        let (entries, problems) = parse_status(&text, distroless);
        let location = context.location(&file.display_path());
        let packages =
            entries.into_iter().map(|entry| entry.into_package(context.distro(), location.clone())).collect();
        Catalogued { packages, problems }
    }
}

/// One package stanza, as dpkg wrote it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StatusEntry {
    /// `Package:`.
    pub name: String,
    /// `Version:`.
    pub version: String,
    /// `Architecture:`.
    pub architecture: Option<String>,
    /// Source name from `Source:`, if present.
    pub source_name: Option<String>,
    /// Source version from `Source: name (version)`, if present.
    pub source_version: Option<String>,
    /// The state word of `Status:` when not `installed`.
    pub state: Option<String>,
    /// `Maintainer:`, e.g. `Debian Go Packaging Team <team+pkg-go@tracker.debian.org>`.
    pub maintainer: Option<String>,
    /// Source packages statically built into this one, from `Built-Using:` and
    /// `Static-Built-Using:` (`golang-1.19`, `rust-regex`, `rustc`).
    pub built_using: Vec<String>,
}

impl StatusEntry {
    fn into_package(self, distro: Option<&Distro>, location: super::Location) -> Package {
        let namespace = distro.map_or("debian", Distro::purl_namespace);
        let mut qualifiers = Vec::new();
        if let Some(architecture) = &self.architecture {
            qualifiers.push(format!("arch={}", purl_encode(architecture)));
        }
        if let Some(distro) = distro {
            qualifiers.push(format!("distro={}", purl_encode(&distro.purl_qualifier())));
        }
        let mut purl =
            format!("pkg:deb/{}/{}@{}", purl_encode(namespace), purl_encode(&self.name), purl_encode(&self.version));
        if !qualifiers.is_empty() {
            purl.push('?');
            purl.push_str(&qualifiers.join("&"));
        }
        // Without `Source:` the source package is the binary package itself.
        let source_name = self.source_name.unwrap_or_else(|| self.name.clone());
        let source_version = self.source_version.unwrap_or_else(|| self.version.clone());
        Package {
            name: self.name,
            version: self.version,
            ecosystem: Ecosystem::Deb,
            purl,
            arch: self.architecture,
            source_name: Some(source_name),
            source_version: Some(source_version),
            epoch: None,
            release: None,
            status: self.state,
            distro: distro.map(Distro::purl_qualifier),
            locations: vec![location],
            found_by: "dpkg".to_string(),
            evidence: Evidence::Installed,
        }
    }
}

/// Parse a status file. `distroless` stanzas carry no `Status:` and count as installed.
/// Returns the packages kept and a problem per stanza that could not be used.
pub fn parse_status(text: &str, distroless: bool) -> (Vec<StatusEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (line_number, stanza) in stanzas(text) {
        let mut entry = StatusEntry::default();
        let mut status = None;
        for (key, value) in fields(stanza) {
            match key {
                "Package" => entry.name = value.to_string(),
                "Version" => entry.version = value.to_string(),
                "Architecture" => entry.architecture = Some(value.to_string()),
                "Status" => status = Some(value.to_string()),
                "Maintainer" => entry.maintainer = Some(value.to_string()),
                "Built-Using" | "Static-Built-Using" => {
                    entry.built_using.extend(value.split(',').map(|item| parse_source(item).0.to_string()));
                }
                "Source" => {
                    let (name, version) = parse_source(value);
                    entry.source_name = Some(name.to_string());
                    entry.source_version = version.map(str::to_string);
                }
                _ => {}
            }
        }
        if entry.name.is_empty() || entry.version.is_empty() {
            problems.push(format!("stanza at line {line_number} has no Package or Version field; skipped"));
            continue;
        }
        if entry.name.chars().any(char::is_whitespace) || entry.version.chars().any(char::is_whitespace) {
            problems.push(format!("stanza at line {line_number} has a malformed Package or Version field; skipped"));
            continue;
        }
        match status {
            None if distroless => {}
            None => {
                problems.push(format!("package {} (line {line_number}) has no Status field; skipped", entry.name));
                continue;
            }
            Some(status) => {
                // `want flag state`, e.g. `install ok installed`.
                let state = status.split_whitespace().nth(2).unwrap_or("");
                match state {
                    "installed" => {}
                    "half-installed" | "unpacked" | "half-configured" | "triggers-awaiting" | "triggers-pending" => {
                        entry.state = Some(state.to_string());
                    }
                    "config-files" | "not-installed" => continue,
                    _ => {
                        problems.push(format!(
                            "package {} (line {line_number}) has an unknown Status {status:?}; skipped",
                            entry.name
                        ));
                        continue;
                    }
                }
            }
        }
        entries.push(entry);
    }
    (entries, problems)
}

/// Split into blank-line-separated stanzas, each with its 1-based first line number.
fn stanzas(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut stanzas = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut start = 1;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                stanzas.push((start, std::mem::take(&mut current)));
            }
            start = index + 2;
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        stanzas.push((start, current));
    }
    stanzas
}

/// `Key: value` fields of a stanza; continuation lines (leading space or tab) belong to
/// the field above and are not needed here.
fn fields(stanza: Vec<&str>) -> impl Iterator<Item = (&str, &str)> {
    stanza.into_iter().filter(|line| !line.starts_with([' ', '\t'])).filter_map(|line| {
        let (key, value) = line.split_once(':')?;
        Some((key.trim(), value.trim()))
    })
}

/// `openssl (3.0.15-1~deb12u1)` → (`openssl`, `Some("3.0.15-1~deb12u1")`).
fn parse_source(value: &str) -> (&str, Option<&str>) {
    match value.split_once('(') {
        Some((name, rest)) => {
            let version = rest.trim_end().strip_suffix(')').unwrap_or(rest).trim();
            (name.trim(), (!version.is_empty()).then_some(version))
        }
        None => (value.trim(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Later;
    use crate::fs::testing::MemoryFilesystem;
    use crate::fs::{FileType, Filesystem};

    fn candidate(path: &str) -> Candidate<'_> {
        Candidate {
            path: path.as_bytes(),
            file_type: FileType::Regular,
            size: 10,
            mode: 0o644,
            installed_by_native_package: false,
        }
    }

    #[test]
    fn wants_status_files_only() {
        let cases = [
            ("/var/lib/dpkg/status", true),
            ("/var/lib/dpkg/status.d/base-files", true),
            ("/var/lib/dpkg/status.d/base-files.md5sums", false),
            ("/var/lib/dpkg/status-old", false),
            ("/var/lib/dpkg/info/bash.md5sums", false),
            ("/var/lib/dpkg/status.d/x/y", false),
            ("/home/user/var/lib/dpkg/status", false),
        ];
        for (path, expected) in cases {
            assert_eq!(DpkgCataloger.wants(&candidate(path)), expected, "{path}");
        }
    }

    const STATUS: &str = "\
Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit
 continuation line: with a colon

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc (2.36-9+deb12u9)
Version: 2.36-9+deb12u9+b1

Package: removed
Status: deinstall ok config-files
Version: 1.0

Package: broken
Status: install reinstreq half-installed
Version: 2:1.0-1
Architecture: all

Garbage without a colon
Version: 1

Package: nostatus
Version: 1
";

    #[test]
    fn parses_states_sources_and_garbage() {
        let (entries, problems) = parse_status(STATUS, false);
        let names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
        assert_eq!(names, ["libssl3", "libc6", "broken"]);
        assert_eq!(entries[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(entries[0].source_version, None);
        assert_eq!(entries[1].source_name.as_deref(), Some("glibc"));
        assert_eq!(entries[1].source_version.as_deref(), Some("2.36-9+deb12u9"));
        assert_eq!(entries[2].state.as_deref(), Some("half-installed"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("line 24"), "{problems:?}");
        assert!(problems[1].contains("nostatus"));
    }

    #[test]
    fn empty_truncated_and_binary_input() {
        assert_eq!(parse_status("", false), (vec![], vec![]));
        let (entries, _) = parse_status("Package: a\nStatus: install ok installed\nVers", false);
        assert!(entries.is_empty());
        let garbage: String = (0u8..=255).map(char::from).cycle().take(10_000).collect();
        let _ = parse_status(&garbage, false);
    }

    #[test]
    fn purl_and_source_fallback() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/dpkg/status", STATUS.as_bytes());
        let distro = Distro { id: "debian".into(), version_id: Some("12".into()), ..Distro::default() };
        let context = CatalogContext {
            distro: &Later::ready(Some(distro)),
            volume: "disk.img",
            partition: Some(1),
            ..crate::catalog::testing::context(&filesystem)
        };
        let mut reader = filesystem.open(STATUS_PATH).unwrap();
        let mut file = WantedFile { path: STATUS_PATH, reader: reader.as_mut() };
        let result = DpkgCataloger.catalog(&mut file, &context);
        let libssl = &result.packages[0];
        assert_eq!(libssl.purl, "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12");
        assert_eq!(libssl.source_version.as_deref(), Some("3.0.15-1~deb12u1"));
        assert_eq!(libssl.locations[0].to_string(), "disk.img/p1:/var/lib/dpkg/status");
        assert_eq!(result.packages[2].purl, "pkg:deb/debian/broken@2%3A1.0-1?arch=all&distro=debian-12");
    }

    #[test]
    fn distroless_stanzas_need_no_status() {
        let (entries, problems) = parse_status("Package: base-files\nVersion: 12.4\nArchitecture: amd64\n", true);
        assert_eq!(entries.len(), 1);
        assert!(problems.is_empty());
    }
}
