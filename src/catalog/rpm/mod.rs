//! RPM packages from rpm's installed-package database, in any of its three formats.
//!
//! Which format a file holds is told by its magic, never by its name: SQLite
//! (`rpmdb.sqlite`: Amazon Linux 2023, RHEL 9+, Fedora), BerkeleyDB hash (`Packages`:
//! Amazon Linux 2, RHEL/CentOS 7 and 8) and NDB (`Packages.db`: SUSE 15+). All three store
//! the same record, an rpm header blob ([`header`]). The database is read from the bytes
//! the walk hands over, never by the host's rpm. `gpg-pubkey` entries are imported signing
//! keys, not software, and are dropped; each installed kernel is its own package.
//!
//! Crates considered: `rpm` parses `.rpm` package files (a lead, then headers each opened
//! by the header magic, which database blobs do not carry) and is built for making and
//! signing packages; `rpmdb` 0.1 (a port of go-rpmdb, one release) reads the three formats
//! but only from a path on the host, with `anyhow` errors and its own older rusqlite. Our
//! databases come from inside an image through a [`FileReader`], and BerkeleyDB and NDB
//! can be read in place with positional reads, so the readers here are our own, with
//! rpm's own bounds, and are tested against what `rpm -qa` lists for the same files.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use super::{
    Candidate, CatalogContext, Cataloger, Catalogued, Ecosystem, Evidence, Location, Package, WantedFile, purl_encode,
};
use crate::distro::Distro;
use crate::fs::{FileReader, FileType, FsError};
use header::{Header, HeaderError, HeaderPackage};

/// Directories rpm keeps its database in (`/var/lib/rpm` is often a link to the second).
const DATABASE_DIRECTORIES: [&[u8]; 3] = [b"/var/lib/rpm", b"/usr/lib/sysimage/rpm", b"/usr/share/rpm"];
/// Database file names: BerkeleyDB, SQLite, NDB.
const DATABASE_FILES: [&[u8]; 3] = [b"Packages", b"rpmdb.sqlite", b"Packages.db"];
/// Largest database read (rpm databases of big hosts are a few hundred MiB); it bounds
/// what the readers allocate in proportion to the file (page maps, the SQLite copy).
pub const MAXIMUM_DATABASE_LENGTH: u64 = 1024 * 1024 * 1024;
/// Most packages read from one database; real systems have a few thousand.
pub const MAXIMUM_PACKAGES: usize = 100_000;
/// Imported signing keys are stored as packages of this name.
const SIGNING_KEY_PACKAGE: &str = "gpg-pubkey";

/// Why an rpm database could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The file could not be read.
    #[error("read error: {0}")]
    Read(#[from] FsError),
    /// The file is shorter than its structures say.
    #[error("file is {size} bytes; {length} bytes at offset {offset} are past its end")]
    Truncated {
        /// Where the read started.
        offset: u64,
        /// How much was wanted.
        length: usize,
        /// The file size.
        size: u64,
    },
    /// Inconsistent structures.
    #[error("corrupt database: {0}")]
    Corrupt(String),
    /// A valid database using something we do not read.
    #[error("unsupported database: {0}")]
    Unsupported(String),
    /// The private temporary copy (SQLite) could not be written.
    #[error("temporary copy: {0}")]
    Temporary(#[from] std::io::Error),
}

/// Fill `buffer` from `offset`, or fail naming what was missing.
pub fn read_exact_at(reader: &mut dyn FileReader, offset: u64, buffer: &mut [u8]) -> Result<(), DatabaseError> {
    let (length, size) = (buffer.len(), reader.size());
    let truncated = DatabaseError::Truncated { offset, length, size };
    let mut filled = 0usize;
    while filled < length {
        let Some(position) = offset.checked_add(filled as u64) else {
            return Err(truncated);
        };
        let rest = buffer.get_mut(filled..).unwrap_or_default();
        let got = reader.read_at(position, rest)?;
        if got == 0 {
            return Err(truncated);
        }
        filled = filled.saturating_add(got);
    }
    Ok(())
}

/// The database formats, told apart by magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `rpmdb.sqlite`.
    Sqlite,
    /// BerkeleyDB hash `Packages`.
    BerkeleyHash,
    /// NDB `Packages.db`.
    Ndb,
}

/// The format of a database from its first bytes, if it is one.
pub fn sniff(start: &[u8]) -> Option<Format> {
    if sqlite::is_sqlite(start) {
        Some(Format::Sqlite)
    } else if ndb::is_ndb(start) {
        Some(Format::Ndb)
    } else if bdb::is_berkeley_hash(start) {
        Some(Format::BerkeleyHash)
    } else {
        None
    }
}

/// Every package header in a database (signing keys included), with a problem for each
/// record or part that could not be read. `write_ahead_log` is the SQLite database's
/// `-wal` file, if it has a non-empty one.
pub fn read_database(reader: &mut dyn FileReader, write_ahead_log: Option<&[u8]>) -> (Vec<HeaderPackage>, Vec<String>) {
    let mut packages = Vec::new();
    let mut header_problems = Vec::new();
    let mut problems = visit_database(reader, write_ahead_log, &mut |record, header| match header {
        Ok(header) => match HeaderPackage::from_header(&header) {
            Ok(package) => packages.push(package),
            Err(error) => header_problems.push(format!("header {record}: {error}")),
        },
        Err(error) => header_problems.push(format!("header {record}: {error}")),
    });
    problems.extend(header_problems);
    (packages, problems)
}

/// Hand each of the first [`MAXIMUM_PACKAGES`] header blobs of a database, parsed, to
/// `visit` (with its record number); returns the problems of the database itself. The one
/// walk over the three formats, shared by the cataloger and the file-ownership pass.
pub fn visit_database(
    reader: &mut dyn FileReader,
    write_ahead_log: Option<&[u8]>,
    visit: &mut dyn FnMut(u64, Result<Header<'_>, HeaderError>),
) -> Vec<String> {
    let size = reader.size();
    if size > MAXIMUM_DATABASE_LENGTH {
        return vec![format!("{size} bytes is over the {MAXIMUM_DATABASE_LENGTH}-byte database limit")];
    }
    let mut start = vec![0u8; usize::try_from(reader.size().min(512)).unwrap_or(512)];
    if let Err(error) = read_exact_at(reader, 0, &mut start) {
        return vec![format!("cannot read: {error}")];
    }
    let Some(format) = sniff(&start) else {
        let message = if start.is_empty() {
            "empty file, not an rpm database"
        } else {
            "not an rpm database (no SQLite, NDB or BerkeleyDB hash magic)"
        };
        return vec![message.to_string()];
    };
    let mut problems = Vec::new();
    let mut visited = 0usize;
    let mut dropped = 0usize;
    let mut visit_blob = |record: u64, blob: &[u8]| {
        if visited >= MAXIMUM_PACKAGES {
            dropped = dropped.saturating_add(1);
            return;
        }
        visited += 1;
        visit(record, Header::parse(blob));
    };
    let result = match format {
        Format::Sqlite => sqlite::read_with_log(reader, write_ahead_log, &mut visit_blob, &mut problems),
        Format::BerkeleyHash => bdb::read(reader, &mut visit_blob, &mut problems),
        Format::Ndb => ndb::read(reader, &mut visit_blob, &mut problems),
    };
    if let Err(error) = result {
        problems.push(format!("{format:?} database: {error}"));
    }
    if dropped > 0 {
        problems.push(format!("{dropped} packages past the first {MAXIMUM_PACKAGES} were not read"));
    }
    problems
}

/// Every header of the database at `path` on `filesystem` (and its write-ahead log), each
/// with the files it owns, for the ownership pass; returns problems as messages.
pub fn visit_file_lists(
    filesystem: &dyn crate::fs::Filesystem,
    path: &[u8],
    visit: &mut dyn FnMut(&HeaderPackage, Vec<String>),
) -> Vec<String> {
    let (log, log_problem) = match write_ahead_log(filesystem, path) {
        Ok(log) => (log, None),
        Err(problem) => (None, Some(problem)),
    };
    let mut file = match crate::fs::resolve(filesystem, path).and_then(|resolved| filesystem.open(&resolved)) {
        Ok(file) => file,
        Err(error) => return vec![format!("cannot open: {error}")],
    };
    let mut header_problems = Vec::new();
    let mut problems = visit_database(file.as_mut(), log.as_deref(), &mut |record, header| {
        let listed = header.and_then(|header| Ok((HeaderPackage::from_header(&header)?, header.file_paths()?)));
        match listed {
            Ok((package, paths)) => visit(&package, paths),
            Err(error) => header_problems.push(format!("header {record}: {error}")),
        }
    });
    problems.extend(log_problem);
    problems.extend(header_problems);
    problems
}

/// `(name, version, release)` from a source RPM file name such as
/// `openssl-3.0.8-1.amzn2023.0.3.src.rpm`.
pub fn parse_source_rpm(file_name: &str) -> Option<(&str, &str, &str)> {
    let stem = file_name.strip_suffix(".rpm")?;
    let (stem, _architecture) = stem.rsplit_once('.')?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, version, release))
}

/// A package URL: `pkg:<type>/<namespace>/<name>@<version>?<qualifiers>`, with every part
/// percent-encoded and qualifiers in the order given (empty ones left out).
pub fn package_url(
    ecosystem: Ecosystem,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, Option<String>)],
) -> String {
    let mut purl = format!("pkg:{}/", ecosystem.purl_type());
    if let Some(namespace) = namespace {
        purl.push_str(&purl_encode(namespace));
        purl.push('/');
    }
    purl.push_str(&purl_encode(name));
    purl.push('@');
    purl.push_str(&purl_encode(version));
    let present: Vec<String> = qualifiers
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|value| format!("{key}={}", purl_encode(value))))
        .collect();
    if !present.is_empty() {
        purl.push('?');
        purl.push_str(&present.join("&"));
    }
    purl
}

/// Turn one header into a package; `None` for signing keys.
pub fn to_package(header: HeaderPackage, distro: Option<&Distro>, location: Location) -> Option<Package> {
    if header.name == SIGNING_KEY_PACKAGE {
        return None;
    }
    // rpm prints no epoch for 0; the purl leaves it out the same way.
    let epoch = header.epoch.filter(|&epoch| epoch != 0);
    let version_release = format!("{}-{}", header.version, header.release);
    let purl = package_url(
        Ecosystem::Rpm,
        distro.map(Distro::purl_namespace),
        &header.name,
        &version_release,
        &[
            ("arch", header.arch.clone()),
            ("epoch", epoch.map(|epoch| epoch.to_string())),
            ("distro", distro.map(Distro::purl_qualifier)),
        ],
    );
    // The SRPM file name has no epoch; all subpackages of one spec share the binary's.
    let source = header.source_rpm.as_deref().and_then(parse_source_rpm);
    let source_name = source.map(|(name, _, _)| name.to_string());
    let source_version = source.map(|(_, version, release)| match epoch {
        Some(epoch) => format!("{epoch}:{version}-{release}"),
        None => format!("{version}-{release}"),
    });
    Some(Package {
        version: header.evr(),
        name: header.name,
        ecosystem: Ecosystem::Rpm,
        purl,
        arch: header.arch,
        source_name,
        source_version,
        epoch: header.epoch.map(u64::from),
        release: Some(header.release),
        status: None,
        distro: distro.map(Distro::purl_qualifier),
        locations: vec![location],
        found_by: "rpm".to_string(),
        evidence: Evidence::Installed,
    })
}

/// Largest write-ahead log read (SQLite checkpoints at about 4 MiB by default).
const WRITE_AHEAD_LOG_LIMIT: u64 = 64 * 1024 * 1024;

/// The non-empty `rpmdb.sqlite-wal` beside an `rpmdb.sqlite`, if there is one: rpm merges
/// it into the database on every clean exit, so what is left there (a snapshot of a
/// running system, an interrupted transaction) holds the latest changes.
fn write_ahead_log(filesystem: &dyn crate::fs::Filesystem, path: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if crate::fs::path::file_name(path) != b"rpmdb.sqlite" {
        return Ok(None);
    }
    let log = [path, b"-wal"].concat();
    match filesystem.symlink_metadata(&log) {
        Ok(metadata) if metadata.file_type == FileType::Regular && metadata.size > 0 => {
            crate::fs::read_capped(filesystem, &log, WRITE_AHEAD_LOG_LIMIT)
                .map(Some)
                .map_err(|error| format!("rpmdb.sqlite-wal: {error}; changes in it are not listed"))
        }
        _ => Ok(None),
    }
}

/// rpm databases under `/var/lib/rpm`, `/usr/lib/sysimage/rpm` and `/usr/share/rpm`.
pub struct RpmCataloger;

impl Cataloger for RpmCataloger {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular
            && DATABASE_DIRECTORIES.contains(&crate::fs::path::parent(candidate.path))
            && DATABASE_FILES.contains(&candidate.file_name())
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let (log, log_problem) = match write_ahead_log(context.filesystem, file.path) {
            Ok(log) => (log, None),
            Err(problem) => (None, Some(problem)),
        };
        let (headers, mut problems) = read_database(file.reader, log.as_deref());
        problems.extend(log_problem);
        let location = context.location(&file.display_path());
        let packages =
            headers.into_iter().filter_map(|header| to_package(header, context.distro(), location.clone())).collect();
        Catalogued { packages, problems }
    }
}

#[cfg(test)]
pub mod testing {
    //! A file reader over bytes in memory, and a runner, for the database readers' tests.
    use super::DatabaseError;
    use crate::fs::{FileReader, FsError};

    /// What one database reader gives: its result, the records visited, the problems.
    pub type Outcome = (Result<(), DatabaseError>, Vec<(u64, Vec<u8>)>, Vec<String>);

    /// The signature shared by `bdb::read`, `ndb::read` and `sqlite::read`.
    pub type DatabaseReader =
        fn(&mut dyn FileReader, &mut dyn FnMut(u64, &[u8]), &mut Vec<String>) -> Result<(), DatabaseError>;

    /// `rounds` copies of `original`, each with `flips` bytes inside `range` set to values
    /// from a seeded xorshift generator: random-looking damage that is the same every run.
    pub fn corrupted_copies(
        original: &[u8],
        range: std::ops::Range<usize>,
        rounds: usize,
        flips: usize,
    ) -> impl Iterator<Item = Vec<u8>> + '_ {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..rounds).map(move |_| {
            let mut bytes = original.to_vec();
            for _ in 0..flips {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let position = range.start + (state % (range.end - range.start) as u64) as usize;
                bytes[position] = (state >> 40) as u8;
            }
            bytes
        })
    }

    /// Held by every test that makes SQLite copies, so a test counting leftover copies
    /// sees none of another test's in flight.
    pub fn sqlite_copies() -> std::sync::MutexGuard<'static, ()> {
        static COPIES: std::sync::Mutex<()> = std::sync::Mutex::new(());
        COPIES.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Run a database reader over bytes, collecting every record.
    pub fn read_with(reader: DatabaseReader, bytes: Vec<u8>) -> Outcome {
        let mut file = BytesReader(bytes);
        let mut records = Vec::new();
        let mut problems = Vec::new();
        let result = reader(&mut file, &mut |record, blob| records.push((record, blob.to_vec())), &mut problems);
        (result, records, problems)
    }

    /// The whole file in memory.
    pub struct BytesReader(pub Vec<u8>);

    impl FileReader for BytesReader {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<usize, FsError> {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.0.len());
            let count = buffer.len().min(self.0.len() - start);
            buffer[..count].copy_from_slice(&self.0[start..start + count]);
            Ok(count)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::header::testing::package;
    use super::testing::BytesReader;
    use super::*;
    use crate::catalog::Later;
    use crate::fs::testing::MemoryFilesystem;

    fn candidate(path: &str, file_type: FileType) -> Candidate<'_> {
        Candidate { path: path.as_bytes(), file_type, size: 4096, mode: 0o644, installed_by_native_package: false }
    }

    #[test]
    fn wants_only_rpm_databases() {
        let table = [
            ("/var/lib/rpm/Packages", FileType::Regular, true),
            ("/var/lib/rpm/rpmdb.sqlite", FileType::Regular, true),
            ("/usr/lib/sysimage/rpm/Packages.db", FileType::Regular, true),
            ("/usr/lib/sysimage/rpm/rpmdb.sqlite", FileType::Regular, true),
            ("/usr/share/rpm/Packages", FileType::Regular, true),
            ("/var/lib/rpm/Packages", FileType::Symlink, false),
            ("/var/lib/rpm/rpmdb.sqlite-wal", FileType::Regular, false),
            ("/var/lib/rpm/rpmdb.sqlite-shm", FileType::Regular, false),
            ("/var/lib/rpm/Name", FileType::Regular, false),
            ("/var/lib/rpm/__db.001", FileType::Regular, false),
            ("/home/user/var/lib/rpm/Packages", FileType::Regular, false),
            ("/var/lib/rpm/backup/Packages", FileType::Regular, false),
            ("/var/lib/dpkg/status", FileType::Regular, false),
            ("/Packages", FileType::Regular, false),
        ];
        for (path, file_type, wanted) in table {
            assert_eq!(RpmCataloger.wants(&candidate(path, file_type)), wanted, "{path}");
        }
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            parse_source_rpm("openssl-3.0.8-1.amzn2023.0.3.src.rpm"),
            Some(("openssl", "3.0.8", "1.amzn2023.0.3"))
        );
        assert_eq!(
            parse_source_rpm("system-release-2023.1.20230825-0.amzn2023.src.rpm"),
            Some(("system-release", "2023.1.20230825", "0.amzn2023"))
        );
        assert_eq!(parse_source_rpm("firefox-115.0-1.nosrc.rpm"), Some(("firefox", "115.0", "1")));
        for bad in ["", "openssl.src.rpm", "openssl-3.0.8.src.rpm", "-1-2.src.rpm", "openssl-3.0.8-1.src", "(none)"] {
            assert_eq!(parse_source_rpm(bad), None, "{bad}");
        }
    }

    fn amazon_linux() -> Distro {
        Distro { id: "amzn".to_string(), version_id: Some("2023".to_string()), ..Distro::default() }
    }

    #[test]
    fn packages_carry_evr_source_and_purl() {
        let location = Location {
            volume: "disk.img".to_string(),
            partition: Some(1),
            path: "/var/lib/rpm/rpmdb.sqlite".to_string(),
        };
        let mut header =
            HeaderPackage::from_blob(&package("openssl-libs", Some(1), "3.0.8", "1.amzn2023.0.3", "x86_64")).unwrap();
        header.source_rpm = Some("openssl-3.0.8-1.amzn2023.0.3.src.rpm".to_string());
        let distro = amazon_linux();
        let openssl = to_package(header, Some(&distro), location.clone()).unwrap();
        assert_eq!(openssl.version, "1:3.0.8-1.amzn2023.0.3");
        assert_eq!(openssl.purl, "pkg:rpm/amzn/openssl-libs@3.0.8-1.amzn2023.0.3?arch=x86_64&epoch=1&distro=amzn-2023");
        assert_eq!(openssl.source_name.as_deref(), Some("openssl"));
        assert_eq!(openssl.source_version.as_deref(), Some("1:3.0.8-1.amzn2023.0.3"));
        assert_eq!(openssl.distro.as_deref(), Some("amzn-2023"));
        assert_eq!(openssl.ecosystem, Ecosystem::Rpm);
        assert_eq!((openssl.epoch, openssl.release.as_deref()), (Some(1), Some("1.amzn2023.0.3")));

        let zero_epoch = HeaderPackage::from_blob(&package("bash", Some(0), "5.2.15", "1.amzn2023", "x86_64")).unwrap();
        let bash = to_package(zero_epoch, None, location.clone()).unwrap();
        assert_eq!(bash.version, "5.2.15-1.amzn2023");
        assert_eq!(bash.purl, "pkg:rpm/bash@5.2.15-1.amzn2023?arch=x86_64");
        // The field keeps what the header stores; only the printed EVR and purl drop a 0 epoch.
        assert_eq!((bash.epoch, bash.release.as_deref()), (Some(0), Some("1.amzn2023")));

        let key = HeaderPackage::from_blob(&package("gpg-pubkey", None, "d832c631", "5c2a7e5d", "x86_64")).unwrap();
        assert!(to_package(key, Some(&distro), location).is_none());
    }

    #[test]
    fn database_format_by_magic_and_garbage() {
        for (bytes, expected) in [
            (b"SQLite format 3\0rest".to_vec(), Some(Format::Sqlite)),
            (b"RpmP\0\0\0\0".to_vec(), Some(Format::Ndb)),
            ([vec![0u8; 12], 0x0006_1561u32.to_le_bytes().to_vec()].concat(), Some(Format::BerkeleyHash)),
            ([vec![0u8; 12], 0x0006_1561u32.to_be_bytes().to_vec()].concat(), Some(Format::BerkeleyHash)),
            ([vec![0u8; 12], 0x0005_3162u32.to_le_bytes().to_vec()].concat(), None),
            (Vec::new(), None),
        ] {
            assert_eq!(sniff(&bytes), expected);
        }
        // A file claiming more than the limit is refused before anything is read.
        struct Huge;
        impl FileReader for Huge {
            fn size(&self) -> u64 {
                MAXIMUM_DATABASE_LENGTH + 1
            }
            fn read_at(&mut self, _: u64, _: &mut [u8]) -> Result<usize, FsError> {
                unreachable!("nothing is read from a file over the limit")
            }
        }
        let (_, problems) = read_database(&mut Huge, None);
        assert!(problems[0].ends_with("-byte database limit"), "{problems:?}");
        let (packages, problems) = read_database(&mut BytesReader(Vec::new()), None);
        assert!(packages.is_empty());
        assert_eq!(problems, vec!["empty file, not an rpm database"]);
        let (_, problems) = read_database(&mut BytesReader(b"garbage".to_vec()), None);
        assert!(problems[0].starts_with("not an rpm database"));
    }

    #[test]
    fn a_non_empty_write_ahead_log_is_read() {
        let mut filesystem = MemoryFilesystem::new();
        filesystem
            .file("/var/lib/rpm/rpmdb.sqlite-wal", &[1, 2, 3])
            .file("/usr/lib/sysimage/rpm/rpmdb.sqlite-wal", b"")
            .symlink("/usr/share/rpm/rpmdb.sqlite-wal", "/etc/shadow");
        let context = CatalogContext { volume: "disk.img", ..crate::catalog::testing::context(&filesystem) };
        assert_eq!(write_ahead_log(context.filesystem, b"/var/lib/rpm/rpmdb.sqlite"), Ok(Some(vec![1, 2, 3])));
        assert_eq!(write_ahead_log(context.filesystem, b"/usr/lib/sysimage/rpm/rpmdb.sqlite"), Ok(None));
        assert_eq!(write_ahead_log(context.filesystem, b"/usr/share/rpm/rpmdb.sqlite"), Ok(None));
        assert_eq!(write_ahead_log(context.filesystem, b"/var/lib/rpm/Packages"), Ok(None));
    }

    #[test]
    fn catalogs_packages_still_in_the_write_ahead_log() {
        let _guard = testing::sqlite_copies();
        let blobs = [package("bash", None, "5.2.15", "1.amzn2023", "x86_64")];
        let (database, log) = sqlite::testing::database_with_unmerged_log(&blobs);
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/rpm/rpmdb.sqlite", &database).file("/var/lib/rpm/rpmdb.sqlite-wal", &log);
        let context = CatalogContext { volume: "disk.img", ..crate::catalog::testing::context(&filesystem) };
        let mut reader = BytesReader(database);
        let mut file = WantedFile { path: b"/var/lib/rpm/rpmdb.sqlite", reader: &mut reader };
        let catalogued = RpmCataloger.catalog(&mut file, &context);
        assert!(catalogued.problems.is_empty(), "{:?}", catalogued.problems);
        let names: Vec<&str> = catalogued.packages.iter().map(|package| package.name.as_str()).collect();
        assert_eq!(names, ["bash"]);
    }

    #[test]
    fn catalogs_a_berkeley_database_with_a_bad_header() {
        let records = vec![
            (1, package("kernel", None, "5.10.210", "201.852.amzn2", "x86_64")),
            (2, package("kernel", None, "5.10.215", "203.850.amzn2", "x86_64")),
            (3, vec![0xFF; 40]),
            (4, package("gpg-pubkey", None, "c87f5b1a", "593863f8", "x86_64")),
        ];
        let mut filesystem = MemoryFilesystem::new();
        filesystem.file("/var/lib/rpm/Packages", &bdb::testing::database(&records, false, 4096, 0));
        let distro = Distro { id: "amzn".to_string(), version_id: Some("2".to_string()), ..Distro::default() };
        let context = CatalogContext {
            distro: &Later::ready(Some(distro)),
            volume: "disk.img",
            partition: Some(1),
            ..crate::catalog::testing::context(&filesystem)
        };
        let mut reader = BytesReader(bdb::testing::database(&records, false, 4096, 0));
        let mut file = WantedFile { path: b"/var/lib/rpm/Packages", reader: &mut reader };
        let catalogued = RpmCataloger.catalog(&mut file, &context);
        let versions: Vec<(&str, &str)> =
            catalogued.packages.iter().map(|package| (package.name.as_str(), package.version.as_str())).collect();
        assert_eq!(versions, vec![("kernel", "5.10.210-201.852.amzn2"), ("kernel", "5.10.215-203.850.amzn2")]);
        assert_eq!(catalogued.packages[0].locations[0].to_string(), "disk.img/p1:/var/lib/rpm/Packages");
        assert_eq!(catalogued.problems.len(), 1);
        assert!(catalogued.problems[0].starts_with("header 3:"), "{:?}", catalogued.problems);
    }
}
