//! Java archives (jar, war, ear, par, sar, jpi, hpi) and the archives nested in them.
//!
//! A jar says what it is in up to three places, tried in order: Maven's
//! `META-INF/maven/<group>/<artifact>/pom.properties` (a shaded jar carries one per
//! bundled library, so it gives several packages), then `META-INF/MANIFEST.MF`, then the
//! file name (`commons-text-1.10.0.jar`). Spring Boot and servlet containers put the
//! application's libraries inside the archive (`BOOT-INF/lib`, `WEB-INF/lib`), so nested
//! archives are read too, to [`MAX_NESTING`] levels, with locations like
//! `/opt/app.jar!/BOOT-INF/lib/x.jar`. Archives are read through the ZIP central
//! directory and only the entries needed (see [`crate::archive::zip`]); nested stored
//! archives are read in place, deflated ones inflated under a memory cap.

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

use super::{Candidate, CatalogContext, Cataloger, Catalogued, Ecosystem, Evidence, Package, WantedFile, purl_encode};
use crate::archive::zip::{Directory, Entry, InflateBudget};
use crate::fs::{FileReader, FileType};
use std::collections::BTreeMap;

/// Deepest nesting of archives read (`a.jar!/b.jar!/…`); deeper ones become a problem.
pub const MAX_NESTING: usize = 16;

/// Extensions of the archives read, lower case.
const EXTENSIONS: [&str; 7] = ["jar", "war", "ear", "par", "sar", "jpi", "hpi"];

/// Largest `MANIFEST.MF` or `pom.properties` read.
const METADATA_LIMIT: u64 = 1024 * 1024;

/// Largest nested archive inflated into memory.
const NESTED_ARCHIVE_LIMIT: u64 = 64 * 1024 * 1024;

/// Most bytes held in memory at once for the chain of nested archives being read.
const NESTED_MEMORY_LIMIT: u64 = 128 * 1024 * 1024;

/// Most archives opened for one file, counting every nested one: overlapping ZIP entries
/// can make a small file name the same inner archive exponentially often.
pub const MAX_ARCHIVES: usize = 10_000;

/// Most bytes inflated in total for one archive and everything inside it.
const TOTAL_INFLATE_LIMIT: u64 = 1024 * 1024 * 1024;

/// Smallest ZIP file: an empty archive is one 22-byte end record.
const SMALLEST_ARCHIVE: u64 = 22;

/// Java archives anywhere on the disk.
pub struct JavaArchiveCataloger;

/// True when `name` ends in one of the Java archive extensions (any case).
fn has_archive_extension(name: &[u8]) -> bool {
    let Some(dot) = name.iter().rposition(|&byte| byte == b'.') else {
        return false;
    };
    let extension = name.get(dot.saturating_add(1)..).unwrap_or_default();
    dot > 0 && EXTENSIONS.iter().any(|known| extension.eq_ignore_ascii_case(known.as_bytes()))
}

impl Cataloger for JavaArchiveCataloger {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular
            && candidate.size >= SMALLEST_ARCHIVE
            && has_archive_extension(candidate.file_name())
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let mut output = Catalogued::default();
        let path = file.display_path();
        let mut walk = ArchiveWalk {
            context,
            budget: InflateBudget::new(TOTAL_INFLATE_LIMIT),
            archives_opened: 0,
            told_too_many: false,
            output: &mut output,
        };
        walk.archive(file.reader, &path, 0, NESTED_MEMORY_LIMIT);
        output
    }
}

/// State carried through one archive and the archives nested in it.
struct ArchiveWalk<'a, 'b> {
    context: &'a CatalogContext<'b>,
    budget: InflateBudget,
    archives_opened: usize,
    told_too_many: bool,
    output: &'a mut Catalogued,
}

impl ArchiveWalk<'_, '_> {
    /// Catalog the archive in `reader`, shown as `path`, `depth` levels down, with
    /// `memory_left` bytes still allowed for inflating nested archives into memory.
    fn archive(&mut self, reader: &mut dyn FileReader, path: &str, depth: usize, memory_left: u64) {
        if self.archives_opened >= MAX_ARCHIVES {
            if !self.told_too_many {
                self.output
                    .problems
                    .push(format!("{path}: more than {MAX_ARCHIVES} nested archives; the rest are not read"));
                self.told_too_many = true;
            }
            return;
        }
        self.archives_opened = self.archives_opened.saturating_add(1);
        let directory = match Directory::read(reader) {
            Ok(directory) => directory,
            Err(error) => {
                self.output.problems.push(format!("{path}: {error}"));
                return;
            }
        };
        for identity in self.identities(reader, &directory, path) {
            self.output.packages.push(identity.package(self.context.location(path)));
        }
        let nested =
            directory.entries.iter().filter(|entry| !entry.is_directory() && has_archive_extension(&entry.name));
        for entry in nested {
            let nested_path = format!("{path}!/{}", crate::fs::path::display(&entry.name));
            if depth >= MAX_NESTING {
                self.output
                    .problems
                    .push(format!("{nested_path}: archives nested more than {MAX_NESTING} deep are not read"));
                // One message per archive is enough: its siblings are as deep.
                return;
            }
            let limit = NESTED_ARCHIVE_LIMIT.min(memory_left);
            match directory.open_entry(reader, entry, limit, &mut self.budget) {
                Ok(mut inner) => {
                    // Stored entries are read in place and cost no memory.
                    let held = if entry.method == 0 { 0 } else { entry.uncompressed_size };
                    self.archive(
                        inner.as_mut(),
                        &nested_path,
                        depth.saturating_add(1),
                        memory_left.saturating_sub(held),
                    );
                }
                Err(error) => self.output.problems.push(format!("{nested_path}: {error}")),
            }
        }
    }

    /// Who the archive is: every pom.properties, else the manifest and the file name.
    fn identities(&mut self, reader: &mut dyn FileReader, directory: &Directory, path: &str) -> Vec<Identity> {
        let mut found: Vec<Identity> = Vec::new();
        let poms = directory.entries.iter().filter(|entry| is_pom_properties(entry));
        for entry in poms {
            let Some(text) = self.read_text(reader, directory, entry, path) else {
                continue;
            };
            if let Some(identity) = Identity::from_pom_properties(&text)
                && !found.contains(&identity)
            {
                found.push(identity);
            }
        }
        if !found.is_empty() {
            return found;
        }
        let manifest = directory
            .find(b"META-INF/MANIFEST.MF")
            .and_then(|entry| self.read_text(reader, directory, entry, path))
            .map(|text| parse_manifest(&text))
            .unwrap_or_default();
        let file_name = path.rsplit(['/', '!']).next().unwrap_or(path);
        Identity::from_manifest_and_file_name(&manifest, file_name).into_iter().collect()
    }

    /// An entry's contents as text, or a problem recorded.
    fn read_text(
        &mut self,
        reader: &mut dyn FileReader,
        directory: &Directory,
        entry: &Entry,
        path: &str,
    ) -> Option<String> {
        match directory.read_entry(reader, entry, METADATA_LIMIT, &mut self.budget) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(error) => {
                self.output.problems.push(format!("{path}!/{}: {error}", crate::fs::path::display(&entry.name)));
                None
            }
        }
    }
}

/// True for `META-INF/maven/<group>/<artifact>/pom.properties` (and bare `pom.properties`
/// files some hand-built jars carry elsewhere).
fn is_pom_properties(entry: &Entry) -> bool {
    let name = entry.name.as_slice();
    name == b"pom.properties" || name.ends_with(b"/pom.properties")
}

/// A Maven identity: optional group, artifact, version.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    group: Option<String>,
    artifact: String,
    version: String,
}

impl Identity {
    fn from_pom_properties(text: &str) -> Option<Self> {
        let properties = parse_properties(text);
        let value = |key: &str| properties.get(key).filter(|value| is_identifier(value)).cloned();
        Some(Self { group: value("groupId"), artifact: value("artifactId")?, version: value("version")? })
    }

    /// Identity from manifest attributes, filled in from a `name-1.2.3.jar` file name.
    fn from_manifest_and_file_name(manifest: &BTreeMap<String, String>, file_name: &str) -> Option<Self> {
        let attribute = |keys: &[&str]| -> Option<String> {
            keys.iter().find_map(|key| {
                let value = manifest.get(*key)?;
                // `Bundle-SymbolicName: x;singleton:=true`, `Implementation-Version: 1.4 1855 …`.
                let value = value.split(';').next()?.split_whitespace().next()?;
                is_identifier(value).then(|| value.to_string())
            })
        };
        let manifest_name =
            attribute(&["Bundle-SymbolicName", "Implementation-Title", "Specification-Title", "Extension-Name"]);
        let manifest_version = attribute(&["Implementation-Version", "Bundle-Version", "Specification-Version"]);
        let (file_artifact, file_version) = split_file_name(file_name);
        let mut artifact = file_artifact.or_else(|| manifest_name.clone())?;
        let version = manifest_version.or(file_version)?;
        let mut group = attribute(&["Implementation-Vendor-Id"]).or_else(|| {
            let name = manifest_name.filter(|name| name.contains('.') && *name != artifact)?;
            let suffix = format!(".{artifact}");
            Some(name.strip_suffix(&suffix).map(str::to_string).unwrap_or(name))
        });
        // `com.google.src.yolo-0.1.2.jar`: a reverse-DNS name (two dots or more) with no
        // group anywhere else is `group.artifact`, as OSV-SCALIBR reads it.
        if group.is_none() && artifact.matches('.').count() >= 2 {
            if let Some((prefix, last)) = artifact.rsplit_once('.').filter(|(_, last)| !last.is_empty()) {
                group = Some(prefix.to_string());
                artifact = last.to_string();
            }
        }
        Some(Self { group, artifact, version })
    }

    fn package(&self, location: super::Location) -> Package {
        let (name, purl) = match &self.group {
            Some(group) => (
                format!("{group}:{}", self.artifact),
                format!(
                    "pkg:maven/{}/{}@{}",
                    purl_encode(group),
                    purl_encode(&self.artifact),
                    purl_encode(&self.version)
                ),
            ),
            None => (
                self.artifact.clone(),
                format!("pkg:maven/{}@{}", purl_encode(&self.artifact), purl_encode(&self.version)),
            ),
        };
        Package {
            name,
            version: self.version.clone(),
            ecosystem: Ecosystem::Maven,
            purl,
            arch: None,
            source_name: None,
            source_version: None,
            epoch: None,
            release: None,
            status: None,
            distro: None,
            locations: vec![location],
            found_by: "java-archive".to_string(),
            evidence: Evidence::Installed,
        }
    }
}

/// Maven coordinates never hold spaces or unexpanded build placeholders.
fn is_identifier(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with("${")
        && !value.starts_with('%')
        && !value.chars().any(|character| character.is_whitespace() || character.is_control())
}

/// `commons-text-1.10.0.jar` → (`commons-text`, `1.10.0`); `app.jar` → (`app`, none).
fn split_file_name(file_name: &str) -> (Option<String>, Option<String>) {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(stem, _)| stem);
    // The version starts at the first `-` followed by a digit.
    let split = stem
        .char_indices()
        .find(|&(index, character)| {
            character == '-'
                && stem
                    .get(index.saturating_add(1)..)
                    .is_some_and(|rest| rest.starts_with(|next: char| next.is_ascii_digit()))
        })
        .map(|(index, _)| index);
    let valid = |text: &str| is_identifier(text).then(|| text.to_string());
    match split {
        Some(index) => (stem.get(..index).and_then(valid), stem.get(index.saturating_add(1)..).and_then(valid)),
        None => (valid(stem), None),
    }
}

/// Java `.properties`: `key=value`, `key: value` or `key value`; `#`/`!` comments.
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
        let key = line.get(..split).unwrap_or_default().trim();
        let value = line.get(split..).unwrap_or_default().trim_start().trim_start_matches(['=', ':']).trim();
        properties.entry(key.to_string()).or_insert_with(|| value.to_string());
    }
    properties
}

/// `MANIFEST.MF` attributes: the main section first, later sections only fill gaps;
/// a line starting with a space continues the one before.
fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(continuation) = line.strip_prefix(' ') {
            if let Some((_, value)) = current.as_mut() {
                value.push_str(continuation);
            }
            continue;
        }
        if let Some((key, value)) = current.take() {
            attributes.entry(key).or_insert(value);
        }
        if let Some((key, value)) = line.split_once(':') {
            current = Some((key.trim().to_string(), value.trim().to_string()));
        }
    }
    if let Some((key, value)) = current {
        attributes.entry(key).or_insert(value);
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::zip::testing::{EntrySpec, build};
    use crate::fs::testing::MemoryFilesystem;
    use crate::test_fixtures::repository_root;

    fn candidate(path: &str, size: u64) -> Candidate<'_> {
        Candidate {
            path: path.as_bytes(),
            file_type: FileType::Regular,
            size,
            mode: 0o644,
            installed_by_native_package: false,
        }
    }

    #[test]
    fn wants_java_archives_only() {
        let cataloger = JavaArchiveCataloger;
        for (path, size, wanted) in [
            ("/opt/app.jar", 1000, true),
            ("/srv/tomcat/webapps/shop.war", 1000, true),
            ("/opt/jenkins/plugins/git.jpi", 1000, true),
            ("/opt/jenkins/plugins/git.hpi", 1000, true),
            ("/opt/x.ear", 1000, true),
            ("/opt/x.par", 1000, true),
            ("/opt/x.sar", 1000, true),
            ("/opt/LOUD.JAR", 1000, true),
            ("/opt/empty.jar", 22, true),
            ("/opt/tiny.jar", 21, false),
            ("/opt/app.jar.sha1", 1000, false),
            ("/opt/app.zip", 1000, false),
            ("/opt/jar", 1000, false),
            ("/opt/.jar", 1000, false),
            ("/usr/share/java/README", 1000, false),
        ] {
            assert_eq!(cataloger.wants(&candidate(path, size)), wanted, "{path}");
        }
        let directory = Candidate {
            path: b"/opt/lib.jar",
            file_type: FileType::Directory,
            size: 4096,
            mode: 0o755,
            installed_by_native_package: false,
        };
        assert!(!cataloger.wants(&directory));
        let link = Candidate {
            path: b"/opt/lib.jar",
            file_type: FileType::Symlink,
            size: 30,
            mode: 0o777,
            installed_by_native_package: false,
        };
        assert!(!cataloger.wants(&link));
    }

    /// Run the cataloger on `bytes` placed at `path`.
    fn catalog_bytes(path: &str, bytes: &[u8]) -> Catalogued {
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file(path, bytes);
        let context =
            CatalogContext { volume: "disk.img", partition: Some(1), ..crate::catalog::testing::context(&filesystem) };
        let mut reader = crate::fs::Filesystem::open(&filesystem, path.as_bytes()).unwrap();
        let mut file = WantedFile { path: path.as_bytes(), reader: reader.as_mut() };
        JavaArchiveCataloger.catalog(&mut file, &context)
    }

    fn summary(catalogued: &Catalogued) -> Vec<(String, String, String, String)> {
        catalogued
            .packages
            .iter()
            .map(|package| {
                (package.name.clone(), package.version.clone(), package.purl.clone(), package.locations[0].path.clone())
            })
            .collect()
    }

    fn pom(group: &str, artifact: &str, version: &str) -> String {
        format!("#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n")
    }

    #[test]
    fn shaded_jar_gives_every_bundled_library() {
        let first = pom("com.example", "app", "1.0.0");
        let second = pom("com.google.guava", "guava", "31.1-jre");
        let jar = build(&[
            EntrySpec {
                name: "META-INF/MANIFEST.MF",
                bytes: b"Manifest-Version: 1.0\r\nImplementation-Title: ignored\r\n",
                deflate: true,
            },
            EntrySpec { name: "META-INF/maven/com.example/app/pom.properties", bytes: first.as_bytes(), deflate: true },
            EntrySpec {
                name: "META-INF/maven/com.google.guava/guava/pom.properties",
                bytes: second.as_bytes(),
                deflate: true,
            },
            EntrySpec { name: "META-INF/maven/com.google.guava/guava/pom.xml", bytes: b"<project/>", deflate: true },
        ]);
        let catalogued = catalog_bytes("/opt/app-1.0.0.jar", &jar);
        assert_eq!(catalogued.problems, Vec::<String>::new());
        assert_eq!(
            summary(&catalogued),
            vec![
                (
                    "com.example:app".into(),
                    "1.0.0".into(),
                    "pkg:maven/com.example/app@1.0.0".into(),
                    "/opt/app-1.0.0.jar".into()
                ),
                (
                    "com.google.guava:guava".into(),
                    "31.1-jre".into(),
                    "pkg:maven/com.google.guava/guava@31.1-jre".into(),
                    "/opt/app-1.0.0.jar".into()
                ),
            ]
        );
        let package = &catalogued.packages[0];
        assert_eq!(package.ecosystem, Ecosystem::Maven);
        assert_eq!(package.evidence, Evidence::Installed);
        assert_eq!(package.found_by, "java-archive");
        assert_eq!(package.locations[0].partition, Some(1));
    }

    #[test]
    fn nested_libraries_get_bang_locations() {
        let library = build(&[EntrySpec {
            name: "META-INF/maven/org.yaml/snakeyaml/pom.properties",
            bytes: pom("org.yaml", "snakeyaml", "1.33").as_bytes(),
            deflate: true,
        }]);
        let unnamed = build(&[EntrySpec { name: "x.class", bytes: b"\xca\xfe\xba\xbe", deflate: false }]);
        let deflated_library = build(&[EntrySpec {
            name: "META-INF/MANIFEST.MF",
            bytes:
                b"Manifest-Version: 1.0\nImplementation-Vendor-Id: org.apache.commons\nImplementation-Version: 1.10.0\n",
            deflate: true,
        }]);
        let fat = build(&[
            EntrySpec { name: "BOOT-INF/lib/", bytes: b"", deflate: false },
            EntrySpec { name: "BOOT-INF/lib/snakeyaml-1.33.jar", bytes: &library, deflate: false },
            EntrySpec { name: "BOOT-INF/lib/commons-text-1.10.0.jar", bytes: &deflated_library, deflate: true },
            EntrySpec { name: "BOOT-INF/lib/unknown.jar", bytes: &unnamed, deflate: false },
        ]);
        let catalogued = catalog_bytes("/opt/app.jar", &fat);
        assert_eq!(catalogued.problems, Vec::<String>::new());
        assert_eq!(
            summary(&catalogued),
            vec![
                (
                    "org.yaml:snakeyaml".into(),
                    "1.33".into(),
                    "pkg:maven/org.yaml/snakeyaml@1.33".into(),
                    "/opt/app.jar!/BOOT-INF/lib/snakeyaml-1.33.jar".into()
                ),
                (
                    "org.apache.commons:commons-text".into(),
                    "1.10.0".into(),
                    "pkg:maven/org.apache.commons/commons-text@1.10.0".into(),
                    "/opt/app.jar!/BOOT-INF/lib/commons-text-1.10.0.jar".into()
                ),
            ]
        );
    }

    #[test]
    fn manifest_then_file_name() {
        let manifest = "Manifest-Version: 1.0\r\nBundle-SymbolicName: com.google.guava.failureaccess;singleton:=true\r\nBundle-Description: a long\r\n  description\r\nBundle-Version: 1.0.1\r\n";
        let jar = build(&[EntrySpec { name: "META-INF/MANIFEST.MF", bytes: manifest.as_bytes(), deflate: true }]);
        assert_eq!(
            summary(&catalog_bytes("/usr/share/java/failureaccess-1.0.1.jar", &jar))[0].0,
            "com.google.guava:failureaccess"
        );
        let no_metadata = build(&[EntrySpec { name: "random.txt", bytes: b"nothing to see", deflate: true }]);
        assert_eq!(
            summary(&catalog_bytes("/opt/lib/jackson-databind-2.13.4.2.jar", &no_metadata)),
            vec![(
                "jackson-databind".into(),
                "2.13.4.2".into(),
                "pkg:maven/jackson-databind@2.13.4.2".into(),
                "/opt/lib/jackson-databind-2.13.4.2.jar".into()
            )]
        );
        // No version anywhere: nothing to report, and nothing wrong either.
        let catalogued = catalog_bytes("/opt/app.jar", &no_metadata);
        assert!(catalogued.packages.is_empty() && catalogued.problems.is_empty());
    }

    #[test]
    fn manifest_parsing_handles_sections_and_continuations() {
        let attributes = parse_manifest(
            "Manifest-Version: 1.0\nImplementation-Title: spring-\n web\n\nName: org/x\nImplementation-Title: other\nImplementation-Version: 5.3.26\n",
        );
        assert_eq!(attributes["Implementation-Title"], "spring-web");
        assert_eq!(attributes["Implementation-Version"], "5.3.26");
        let invalid = parse_manifest(
            "Implementation-Title: %pluginName\nImplementation-Version: 1.2.3\nBundle-SymbolicName: no spaces allowed\n",
        );
        assert_eq!(
            Identity::from_manifest_and_file_name(&invalid, "plugin.hpi").map(|identity| identity.artifact),
            Some("plugin".into())
        );
        assert_eq!(Identity::from_manifest_and_file_name(&BTreeMap::new(), "plugin.hpi"), None);
        assert_eq!(
            split_file_name("spring-boot-3.1.0-SNAPSHOT.jar"),
            (Some("spring-boot".into()), Some("3.1.0-SNAPSHOT".into()))
        );
        assert_eq!(split_file_name("log4j-1.2-api-2.17.1.jar"), (Some("log4j".into()), Some("1.2-api-2.17.1".into())));
    }

    #[test]
    fn file_names_split_into_artifact_and_version() {
        for (file_name, artifact, version) in [
            ("commons-text-1.10.0.jar", Some("commons-text"), Some("1.10.0")),
            ("guava-31.1-jre.jar", Some("guava"), Some("31.1-jre")),
            ("jetty-server-9.4.57.v20241219.jar", Some("jetty-server"), Some("9.4.57.v20241219")),
            ("commons-lang3.jar", Some("commons-lang3"), None),
            ("h2.jar", Some("h2"), None),
            ("-1.0.jar", None, Some("1.0")),
            ("app.war", Some("app"), None),
            ("name with spaces-1.0.jar", None, Some("1.0")),
        ] {
            assert_eq!(
                split_file_name(file_name),
                (artifact.map(str::to_string), version.map(str::to_string)),
                "{file_name}"
            );
        }
    }

    #[test]
    fn properties_accept_every_separator_and_skip_comments() {
        let properties = parse_properties(
            "# comment\n! also a comment\n\ngroupId = org.example\nartifactId:tool\nversion 1.2.3\nversion=ignored duplicate\nempty=\n",
        );
        assert_eq!(properties["groupId"], "org.example");
        assert_eq!(properties["artifactId"], "tool");
        assert_eq!(properties["version"], "1.2.3");
        assert_eq!(properties["empty"], "");
        assert_eq!(properties.len(), 4);
        assert_eq!(Identity::from_pom_properties("artifactId=tool\nversion=${project.version}\n"), None);
        assert_eq!(Identity::from_pom_properties("garbage\u{0}\u{1}"), None);
    }

    #[test]
    fn garbage_truncated_and_empty_archives_are_problems() {
        let garbage = catalog_bytes("/opt/garbage.jar", b"this is plainly not a zip archive, just text");
        assert!(garbage.packages.is_empty());
        assert_eq!(garbage.problems.len(), 1);
        assert!(garbage.problems[0].starts_with("/opt/garbage.jar: not a ZIP archive"), "{:?}", garbage.problems);
        let jar = build(&[EntrySpec {
            name: "META-INF/maven/a/b/pom.properties",
            bytes: pom("a", "b", "1").as_bytes(),
            deflate: true,
        }]);
        let truncated = catalog_bytes("/opt/cut.jar", &jar[..jar.len() - 5]);
        assert!(truncated.packages.is_empty() && truncated.problems.len() == 1);
        let empty = catalog_bytes("/opt/empty.jar", &build(&[]));
        assert!(empty.packages.is_empty() && empty.problems.is_empty());
    }

    #[test]
    fn nesting_stops_at_the_limit() {
        let mut archive = build(&[EntrySpec {
            name: "META-INF/maven/deep/lib/pom.properties",
            bytes: pom("deep", "lib", "1.0").as_bytes(),
            deflate: true,
        }]);
        for level in 0..100 {
            archive = build(&[EntrySpec { name: "nested.jar", bytes: &archive, deflate: level % 2 == 0 }]);
        }
        let catalogued = catalog_bytes("/opt/deep.jar", &archive);
        assert!(catalogued.packages.is_empty());
        assert_eq!(catalogued.problems.len(), 1);
        let expected_path = format!("/opt/deep.jar{}", "!/nested.jar".repeat(MAX_NESTING + 1));
        assert_eq!(
            catalogued.problems[0],
            format!("{expected_path}: archives nested more than {MAX_NESTING} deep are not read")
        );
    }

    /// Make every central-directory entry of `archive` appear `copies` times, all pointing
    /// at the same data (overlapping entries, as in non-recursive zip bombs).
    fn overlap_entries(archive: &[u8], copies: usize) -> Vec<u8> {
        let end = crate::archive::zip::testing::end_record_offset(archive);
        let directory_offset = u32::from_le_bytes(archive[end + 16..end + 20].try_into().unwrap()) as usize;
        let count = u16::from_le_bytes(archive[end + 10..end + 12].try_into().unwrap()) as usize;
        let directory = &archive[directory_offset..end];
        let mut out = archive[..directory_offset].to_vec();
        for _ in 0..copies {
            out.extend_from_slice(directory);
        }
        let mut record = archive[end..].to_vec();
        let total = (count * copies) as u16;
        record[8..10].copy_from_slice(&total.to_le_bytes());
        record[10..12].copy_from_slice(&total.to_le_bytes());
        record[12..16].copy_from_slice(&((directory.len() * copies) as u32).to_le_bytes());
        out.extend_from_slice(&record);
        out
    }

    #[test]
    fn overlapping_nested_entries_stop_at_the_archive_limit() {
        let mut archive = build(&[EntrySpec { name: "a.txt", bytes: b"leaf", deflate: false }]);
        for _ in 0..12 {
            archive = overlap_entries(&build(&[EntrySpec { name: "n.jar", bytes: &archive, deflate: false }]), 4);
        }
        // 4^12 archives are named; only MAX_ARCHIVES are opened, and that is said once.
        let catalogued = catalog_bytes("/opt/fan.jar", &archive);
        assert_eq!(catalogued.problems.len(), 1, "{:?}", &catalogued.problems[..3.min(catalogued.problems.len())]);
        assert!(catalogued.problems[0].contains(&format!("more than {MAX_ARCHIVES} nested archives")));
    }

    #[test]
    fn zip_bomb_is_a_problem_not_an_allocation() {
        let zeros = vec![0u8; 30 * 1024 * 1024];
        let bomb = build(&[
            EntrySpec { name: "META-INF/maven/a/b/pom.properties", bytes: &zeros, deflate: true },
            EntrySpec { name: "BOOT-INF/lib/bomb.jar", bytes: &zeros, deflate: true },
        ]);
        let catalogued = catalog_bytes("/opt/bomb-1.0.jar", &bomb);
        assert_eq!(catalogued.problems.len(), 2, "{:?}", catalogued.problems);
        assert!(catalogued.problems.iter().all(|problem| problem.contains("limit")), "{:?}", catalogued.problems);
        // The file name still identifies the outer archive.
        assert_eq!(summary(&catalogued)[0].0, "bomb");
    }

    /// Thousands of single-byte corruptions of a real fat jar: each gives packages or
    /// problems, never a panic (a deterministic generator keeps failures reproducible).
    #[test]
    fn corrupted_real_jar_never_panics() {
        let original = std::fs::read(repository_root().join("fixtures/binaries/spring-app.jar")).unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = original.clone();
            let position = (state % bytes.len() as u64) as usize;
            bytes[position] = (state >> 32) as u8;
            let _ = catalog_bytes("/opt/app.jar", &bytes);
        }
    }

    /// Corpus: every jar in `../shared/data/pkgdb/java` is read or gives a clear problem.
    #[test]
    fn shared_corpus_jars() {
        let root = repository_root().join("../shared/data/pkgdb/java");
        if !root.exists() {
            println!("skipped: ../shared/data not present");
            return;
        }
        let testdata = root.join("google__osv-scalibr/extractor/filesystem/language/java/archive/testdata");
        let run = |name: &str| catalog_bytes(&format!("/corpus/{name}"), &std::fs::read(testdata.join(name)).unwrap());
        assert_eq!(
            summary(&run("simple.jar")),
            vec![(
                "com.some.package:package-name".into(),
                "1.2.3".into(),
                "pkg:maven/com.some.package/package-name@1.2.3".into(),
                "/corpus/simple.jar".into()
            )]
        );
        let complex = run("complex.jar");
        assert_eq!(
            complex
                .packages
                .iter()
                .map(|package| (package.name.as_str(), package.locations[0].path.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("com.some.package:package-name", "/corpus/complex.jar"),
                ("com.some.anotherpackage:another-package-name", "/corpus/complex.jar!/BOOT-INF/lib/inner.jar"),
            ]
        );
        assert_eq!(summary(&run("com.google.src.yolo-0.1.2.jar"))[0].0, "com.google.src:yolo");
        assert_eq!(summary(&run("pom_missing_group_id.jar"))[0].0, "package-name");
        assert_eq!(summary(&run("no_pom_properties-2.4.0.jar"))[0].0, "no_pom_properties");
        assert!(run("no_pom_properties.jar").packages.is_empty());
        assert!(run("empty.jar").problems.is_empty());
        assert!(run("invalid_jar.jar").problems[0].contains("not a ZIP archive"));
        assert!(run("not_jar").problems[0].contains("not a ZIP archive"));
        let deep = run("nested_at_100.jar");
        assert!(deep.problems.iter().any(|problem| problem.contains("nested more than 16")), "{:?}", deep.problems);
        let shallow = run("nested_at_10.jar");
        assert!(shallow.problems.is_empty(), "{:?}", shallow.problems);
        // Every jar of the corpus, whatever it is, gives packages or problems, never a panic.
        let mut count = 0;
        for entry in std::fs::read_dir(&testdata).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "jar") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let catalogued = run(&name);
                assert!(
                    !catalogued.packages.is_empty()
                        || !catalogued.problems.is_empty()
                        || name.contains("no_pom")
                        || name == "empty.jar"
                        || name.starts_with("nested_at_10."),
                    "{name} gave nothing"
                );
                count += 1;
            }
        }
        assert!(count >= 10, "only {count} jars in the corpus");
        for directory in ["known-group-id", "manifest-symbolicname", "combine-manifest-filename"] {
            let text = std::fs::read_to_string(testdata.join(directory).join("MANIFEST.MF")).unwrap();
            assert!(Identity::from_manifest_and_file_name(&parse_manifest(&text), "x.jar").is_some(), "{directory}");
        }
    }
}
