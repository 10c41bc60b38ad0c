//! Alpine packages from apk's installed database, `/lib/apk/db/installed`.
//!
//! The database is text: one stanza per package, separated by blank lines, each line a
//! one-letter key, a colon and a value (`P:` name, `V:` version, `A:` arch, `o:` origin,
//! `L:` license, `t:` build time; file lists follow as `F:`/`R:` lines, which are skipped).
//! Alpine advisories key on the origin (the source package, `APKBUILD`), so it becomes
//! `source_name`. apk-tools 3 keeps the same file under `/usr/lib/apk/db/`.

use super::rpm::package_url;
use super::{
    Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, Package, WantedFile,
};
use crate::distro::Distro;
use crate::fs::FileType;

/// Where apk-tools 2 and 3 keep the installed database.
const DATABASE_PATHS: [&[u8]; 2] = [b"/lib/apk/db/installed", b"/usr/lib/apk/db/installed"];

/// One package stanza, as apk wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstalledEntry {
    /// `P:` name.
    pub name: String,
    /// `V:` version.
    pub version: String,
    /// `A:` architecture.
    pub architecture: Option<String>,
    /// `o:` origin (the source package).
    pub origin: Option<String>,
    /// `L:` license.
    pub license: Option<String>,
    /// `t:` build time, seconds since the epoch.
    pub build_time: Option<i64>,
}

/// Parse an installed database: the entries with a name and a version, and a problem for
/// each stanza without them (named by the line it starts on).
pub fn parse_installed(text: &str) -> (Vec<InstalledEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut entry = InstalledEntry::default();
    let mut start_line = 0usize;
    let mut in_stanza = false;
    let mut finish = |entry: &mut InstalledEntry, start_line: usize, problems: &mut Vec<String>| {
        let finished = std::mem::take(entry);
        match (finished.name.is_empty(), finished.version.is_empty()) {
            (false, false) => entries.push(finished),
            (true, _) => problems.push(format!("stanza at line {start_line} has no P: (name) field; skipped")),
            (false, true) => problems
                .push(format!("package {} (line {start_line}) has no V: (version) field; skipped", finished.name)),
        }
    };
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if in_stanza {
                finish(&mut entry, start_line, &mut problems);
                in_stanza = false;
            }
            continue;
        }
        if !in_stanza {
            in_stanza = true;
            start_line = index + 1;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key {
            "P" => entry.name = value.to_string(),
            "V" => entry.version = value.to_string(),
            "A" => entry.architecture = Some(value.to_string()).filter(|value| !value.is_empty()),
            "o" => entry.origin = Some(value.to_string()).filter(|value| !value.is_empty()),
            "L" => entry.license = Some(value.to_string()).filter(|value| !value.is_empty()),
            "t" => entry.build_time = value.parse().ok(),
            _ => {}
        }
    }
    if in_stanza {
        finish(&mut entry, start_line, &mut problems);
    }
    (entries, problems)
}

impl InstalledEntry {
    fn into_package(self, distro: Option<&Distro>, location: super::Location) -> Package {
        let purl = package_url(
            Ecosystem::Apk,
            Some(distro.map_or("alpine", Distro::purl_namespace)),
            &self.name,
            &self.version,
            &[("arch", self.architecture.clone()), ("distro", distro.map(Distro::purl_qualifier))],
        );
        // A package built from its own APKBUILD may omit `o:`; its origin is itself.
        let source_name = self.origin.unwrap_or_else(|| self.name.clone());
        Package {
            source_version: Some(self.version.clone()),
            name: self.name,
            version: self.version,
            ecosystem: Ecosystem::Apk,
            purl,
            arch: self.architecture,
            source_name: Some(source_name),
            epoch: None,
            release: None,
            status: None,
            distro: distro.map(Distro::purl_qualifier),
            locations: vec![location],
            found_by: "apk".to_string(),
            evidence: Evidence::Installed,
        }
    }
}

/// apk's `installed` database.
pub struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && DATABASE_PATHS.contains(&candidate.path)
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let bytes = match file.bytes(DEFAULT_READ_LIMIT) {
            Ok(bytes) => bytes,
            Err(error) => return Catalogued::problem(format!("cannot read: {error}")),
        };
        let (entries, problems) = parse_installed(&String::from_utf8_lossy(&bytes));
        let location = context.location(&file.display_path());
        let packages =
            entries.into_iter().map(|entry| entry.into_package(context.distro(), location.clone())).collect();
        Catalogued { packages, problems }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Location;

    const TWO_PACKAGES: &str = "C:Q1ITsJJdXeZYOTBnjrj8iM+ODPWuk=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:411323\nI:662528\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1712142432\nc:1b71d5ea7e1a1de6cb3c0a9a11f8a6f5d3b3a1a7\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1BRjGUgGlAzT5dcb4bp1Ts+bG9cs=\n\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\nL:Apache-2.0\no:openssl\nt:1725374426\n\n";

    #[test]
    fn parses_stanzas() {
        let (entries, problems) = parse_installed(TWO_PACKAGES);
        assert!(problems.is_empty());
        assert_eq!(
            entries[1],
            InstalledEntry {
                name: "libcrypto3".to_string(),
                version: "3.3.2-r0".to_string(),
                architecture: Some("x86_64".to_string()),
                origin: Some("openssl".to_string()),
                license: Some("Apache-2.0".to_string()),
                build_time: Some(1_725_374_426),
            }
        );
        assert_eq!(entries[0].name, "musl");
        assert_eq!(entries.len(), 2);
        // CRLF line ends and no trailing blank line read the same.
        let crlf = TWO_PACKAGES.trim_end().replace('\n', "\r\n");
        assert_eq!(parse_installed(&crlf).0, entries);
    }

    #[test]
    fn empty_truncated_and_garbage() {
        assert_eq!(parse_installed(""), (Vec::new(), Vec::new()));
        assert_eq!(parse_installed("\n\n\n"), (Vec::new(), Vec::new()));
        let (entries, problems) = parse_installed("P:musl\nV:1.2.5-r0\n\nP:busybox\nA:x86_64\n");
        assert_eq!(entries.len(), 1);
        assert_eq!(problems, vec!["package busybox (line 4) has no V: (version) field; skipped"]);
        let (entries, problems) = parse_installed("\u{0}\u{1}garbage\nnot a field\n::::\n");
        assert!(entries.is_empty());
        assert_eq!(problems, vec!["stanza at line 1 has no P: (name) field; skipped"]);
    }

    #[test]
    fn wants_the_installed_database_only() {
        let table = [
            ("/lib/apk/db/installed", FileType::Regular, true),
            ("/usr/lib/apk/db/installed", FileType::Regular, true),
            ("/lib/apk/db/installed", FileType::Symlink, false),
            ("/lib/apk/db/triggers", FileType::Regular, false),
            ("/lib/apk/db/scripts.tar", FileType::Regular, false),
            ("/var/lib/apk/db/installed", FileType::Regular, false),
            ("/home/lib/apk/db/installed", FileType::Regular, false),
            ("/etc/apk/world", FileType::Regular, false),
        ];
        for (path, file_type, wanted) in table {
            let candidate = Candidate {
                path: path.as_bytes(),
                file_type,
                size: 100,
                mode: 0o644,
                installed_by_native_package: false,
            };
            assert_eq!(ApkCataloger.wants(&candidate), wanted, "{path}");
        }
    }

    #[test]
    fn packages_have_origin_and_purl() {
        let distro = Distro { id: "alpine".to_string(), version_id: Some("3.20.3".to_string()), ..Distro::default() };
        let location =
            Location { volume: "alpine.img".to_string(), partition: None, path: "/lib/apk/db/installed".to_string() };
        let (entries, _) = parse_installed(TWO_PACKAGES);
        let packages: Vec<Package> =
            entries.into_iter().map(|entry| entry.into_package(Some(&distro), location.clone())).collect();
        assert_eq!(packages[1].purl, "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3");
        assert_eq!(packages[1].source_name.as_deref(), Some("openssl"));
        assert_eq!(packages[1].source_version.as_deref(), Some("3.3.2-r0"));
        assert_eq!(packages[1].distro.as_deref(), Some("alpine-3.20.3"));
        let (entries, _) = parse_installed("P:hello\nV:1.0-r0\n");
        let hello = entries.into_iter().next().unwrap().into_package(None, location);
        assert_eq!(hello.purl, "pkg:apk/alpine/hello@1.0-r0");
        assert_eq!(hello.source_name.as_deref(), Some("hello"));
    }
}
