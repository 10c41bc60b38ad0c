//! The bundle: one SQLite file (users can inspect it with `sqlite3`) holding metadata,
//! per-source counts, every validated advisory as JSON, and a table from (ecosystem,
//! normalised package name) to advisories. A build writes a temporary file beside the
//! target and renames it over the old bundle, so readers see the old bundle or the new
//! one, never half of one. [`Database::open`] loads only that index; advisories are read
//! (and cached) when a package asks for them, which keeps opening fast.

use super::{Advisory, AdvisoryError, ImportCounts};
use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Version of the bundle's table layout; a bundle with another version is refused.
pub const BUNDLE_SCHEMA_VERSION: u32 = 1;

/// One feed as recorded in the bundle.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SourceInfo {
    /// Name given at build time (the directory or file name).
    pub name: String,
    /// Where it was read from.
    pub origin: String,
    /// Records read.
    pub records: u64,
    /// Records imported.
    pub imported: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Withdrawn records excluded.
    pub withdrawn: u64,
    /// GIT ranges skipped.
    pub git_ranges_skipped: u64,
    /// Newest `modified` among its records.
    pub newest_modified: Option<String>,
}

/// The bundle's metadata, as `snapscan db info` prints it and reports embed it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// Bundle schema version.
    pub schema_version: u32,
    /// When it was built (RFC 3339, UTC).
    pub built_at: String,
    /// Seconds since the Unix epoch at build time.
    pub built_at_unix: u64,
    /// snapscan version that built it.
    pub built_by: String,
    /// Advisories stored.
    pub advisories: u64,
    /// Feeds it was built from.
    pub sources: Vec<SourceInfo>,
}

/// What a build did, for the command's output.
#[derive(Debug)]
pub struct BuildReport {
    /// Metadata written.
    pub info: DatabaseInfo,
    /// Per source: its name and full counts (with every rejection reason).
    pub counts: Vec<(String, ImportCounts)>,
}

fn sqlite_error(path: &Path) -> impl Fn(rusqlite::Error) -> AdvisoryError + '_ {
    move |source| AdvisoryError::Sqlite { path: path.display().to_string(), source }
}

/// One source for a bundle: its name, origin, advisories and counts.
pub type Source = (String, String, Vec<Advisory>, ImportCounts);

/// Write a bundle at `output` from sources `(name, origin, advisories, counts)` already in
/// memory, replacing any existing one atomically (the tests' shorthand for
/// [`write_bundle_from`]).
#[cfg(test)]
pub fn write_bundle(output: &Path, sources: Vec<Source>, now_unix: u64) -> Result<BuildReport, AdvisoryError> {
    write_bundle_from(output, sources.into_iter().map(Ok), now_unix)
}

/// Write a bundle from sources produced one at a time (imported lazily, so only one
/// source's advisories are in memory at once); the first source error abandons the
/// build and leaves any existing bundle untouched.
pub fn write_bundle_from<E: From<AdvisoryError>>(
    output: &Path,
    sources: impl IntoIterator<Item = Result<Source, E>>,
    now_unix: u64,
) -> Result<BuildReport, E> {
    let temporary = output.with_file_name(format!(
        ".{}.partial-{}",
        output.file_name().and_then(|name| name.to_str()).unwrap_or("bundle"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&temporary);
    let result = write_into(&temporary, sources, now_unix);
    match result {
        Ok(report) => {
            std::fs::rename(&temporary, output)
                .map_err(|source| AdvisoryError::Io { path: output.display().to_string(), source })?;
            Ok(report)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}

fn write_into<E: From<AdvisoryError>>(
    path: &Path,
    sources: impl IntoIterator<Item = Result<Source, E>>,
    now_unix: u64,
) -> Result<BuildReport, E> {
    let error = sqlite_error(path);
    let mut connection = Connection::open(path).map_err(&error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE sources (name TEXT NOT NULL, origin TEXT NOT NULL, records INTEGER NOT NULL, imported INTEGER NOT NULL,
                 rejected INTEGER NOT NULL, withdrawn INTEGER NOT NULL, git_ranges_skipped INTEGER NOT NULL, newest_modified TEXT);
             CREATE TABLE advisories (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, modified TEXT, body TEXT NOT NULL);
             CREATE TABLE packages (ecosystem TEXT NOT NULL, name TEXT NOT NULL, advisory INTEGER NOT NULL REFERENCES advisories(rowid));",
        )
        .map_err(&error)?;
    let transaction = connection.transaction().map_err(&error)?;
    let mut source_infos = Vec::new();
    let mut all_counts = Vec::new();
    let mut total: u64 = 0;
    {
        let mut insert_advisory = transaction
            .prepare("INSERT INTO advisories (id, source, modified, body) VALUES (?1, ?2, ?3, ?4)")
            .map_err(&error)?;
        let mut insert_package = transaction
            .prepare("INSERT INTO packages (ecosystem, name, advisory) VALUES (?1, ?2, ?3)")
            .map_err(&error)?;
        for source in sources {
            let (name, origin, advisories, counts) = source?;
            let mut newest: Option<String> = None;
            for advisory in &advisories {
                if let Some(modified) = &advisory.modified
                    && newest.as_ref().is_none_or(|current| modified > current)
                {
                    newest = Some(modified.clone());
                }
                let body = serde_json::to_string(advisory).map_err(|source| AdvisoryError::Format {
                    path: path.display().to_string(),
                    reason: source.to_string(),
                })?;
                insert_advisory
                    .execute(params![advisory.id, advisory.source, advisory.modified, body])
                    .map_err(&error)?;
                let rowid = transaction.last_insert_rowid();
                let mut keys: Vec<(&str, &str)> = advisory
                    .affected
                    .iter()
                    .map(|affected| (affected.ecosystem.as_str(), affected.normalized_name.as_str()))
                    .collect();
                keys.sort();
                keys.dedup();
                for (ecosystem, package) in keys {
                    insert_package.execute(params![ecosystem, package, rowid]).map_err(&error)?;
                }
                total += 1;
            }
            let info = SourceInfo {
                name: name.clone(),
                origin,
                records: counts.records,
                imported: counts.imported,
                rejected: u64::try_from(counts.rejected.len()).unwrap_or(u64::MAX),
                withdrawn: counts.withdrawn,
                git_ranges_skipped: counts.git_ranges_skipped,
                newest_modified: newest,
            };
            transaction
                .execute(
                    "INSERT INTO sources VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        info.name,
                        info.origin,
                        to_sql(info.records),
                        to_sql(info.imported),
                        to_sql(info.rejected),
                        to_sql(info.withdrawn),
                        to_sql(info.git_ranges_skipped),
                        info.newest_modified
                    ],
                )
                .map_err(&error)?;
            source_infos.push(info);
            all_counts.push((name, counts));
        }
        let built_at = rfc3339(now_unix);
        for (key, value) in [
            ("schema_version", BUNDLE_SCHEMA_VERSION.to_string()),
            ("built_at", built_at),
            ("built_at_unix", now_unix.to_string()),
            ("built_by", format!("snapscan {}", env!("CARGO_PKG_VERSION"))),
        ] {
            transaction.execute("INSERT INTO metadata VALUES (?1, ?2)", params![key, value]).map_err(&error)?;
        }
    }
    transaction.execute_batch("CREATE INDEX packages_key ON packages (ecosystem, name);").map_err(&error)?;
    transaction.commit().map_err(&error)?;
    connection.close().map_err(|(_, source)| error(source))?;
    let info = read_info(&Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&error)?, path)?;
    debug_assert_eq!(info.advisories, total);
    Ok(BuildReport { info, counts: all_counts })
}

fn read_info(connection: &Connection, path: &Path) -> Result<DatabaseInfo, AdvisoryError> {
    let error = sqlite_error(path);
    let metadata: HashMap<String, String> = connection
        .prepare("SELECT key, value FROM metadata")
        .and_then(|mut statement| statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
        .map_err(&error)?;
    let found = metadata.get("schema_version").cloned().unwrap_or_default();
    if found != BUNDLE_SCHEMA_VERSION.to_string() {
        return Err(AdvisoryError::Schema { path: path.display().to_string(), found, expected: BUNDLE_SCHEMA_VERSION });
    }
    let sources = connection
        .prepare("SELECT name, origin, records, imported, rejected, withdrawn, git_ranges_skipped, newest_modified FROM sources ORDER BY rowid")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| {
                    Ok(SourceInfo {
                        name: row.get(0)?,
                        origin: row.get(1)?,
                        records: from_sql(row.get(2)?),
                        imported: from_sql(row.get(3)?),
                        rejected: from_sql(row.get(4)?),
                        withdrawn: from_sql(row.get(5)?),
                        git_ranges_skipped: from_sql(row.get(6)?),
                        newest_modified: row.get(7)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(&error)?;
    let advisories =
        from_sql(connection.query_row("SELECT count(*) FROM advisories", [], |row| row.get(0)).map_err(&error)?);
    Ok(DatabaseInfo {
        schema_version: BUNDLE_SCHEMA_VERSION,
        built_at: metadata.get("built_at").cloned().unwrap_or_default(),
        built_at_unix: metadata.get("built_at_unix").and_then(|value| value.parse().ok()).unwrap_or(0),
        built_by: metadata.get("built_by").cloned().unwrap_or_default(),
        advisories,
        sources,
    })
}

/// SQLite integers are signed; counts never reach `i64::MAX`.
fn to_sql(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// A count read back (a negative one from a tampered bundle reads as 0).
fn from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// An open bundle: its metadata and the (ecosystem, name) index.
pub struct Database {
    path: String,
    info: DatabaseInfo,
    connection: Mutex<Connection>,
    /// Ecosystem → normalised name → advisory rowids (nested so lookups borrow).
    index: HashMap<String, HashMap<String, Vec<i64>>>,
    cache: Mutex<HashMap<i64, Arc<Advisory>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Database").field("path", &self.path).field("ecosystems", &self.index.len()).finish()
    }
}

impl Database {
    /// Open a bundle read-only and load its index.
    pub fn open(path: &Path) -> Result<Database, AdvisoryError> {
        if !path.is_file() {
            return Err(AdvisoryError::Missing { path: path.display().to_string() });
        }
        let error = sqlite_error(path);
        let connection = Connection::open_with_flags(
            immutable_uri(path),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(&error)?;
        let info = read_info(&connection, path)?;
        let mut index: HashMap<String, HashMap<String, Vec<i64>>> = HashMap::new();
        {
            let mut statement = connection.prepare("SELECT ecosystem, name, advisory FROM packages").map_err(&error)?;
            let mut rows = statement.query([]).map_err(&error)?;
            while let Some(row) = rows.next().map_err(&error)? {
                let ecosystem: String = row.get(0).map_err(&error)?;
                let name: String = row.get(1).map_err(&error)?;
                index.entry(ecosystem).or_default().entry(name).or_default().push(row.get(2).map_err(&error)?);
            }
        }
        Ok(Database {
            path: path.display().to_string(),
            info,
            connection: Mutex::new(connection),
            index,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The bundle's metadata.
    pub fn info(&self) -> &DatabaseInfo {
        &self.info
    }

    /// Where it was opened from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Advisories naming `name` (already normalised) in `ecosystem`.
    pub fn advisories_for(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Advisory>>, AdvisoryError> {
        let Some(rowids) = self.index.get(ecosystem).and_then(|names| names.get(name)) else {
            return Ok(Vec::new());
        };
        let mut found = Vec::with_capacity(rowids.len());
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for rowid in rowids {
            if let Some(advisory) = cache.get(rowid) {
                found.push(Arc::clone(advisory));
                continue;
            }
            let connection = self.connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let body: String = connection
                .prepare_cached("SELECT body FROM advisories WHERE rowid = ?1")
                .and_then(|mut statement| statement.query_row([rowid], |row| row.get(0)))
                .map_err(|source| AdvisoryError::Sqlite { path: self.path.clone(), source })?;
            let advisory: Advisory = serde_json::from_str(&body).map_err(|error| AdvisoryError::Format {
                path: self.path.clone(),
                reason: format!("advisory row {rowid}: {error}"),
            })?;
            let advisory = Arc::new(advisory);
            cache.insert(*rowid, Arc::clone(&advisory));
            found.push(advisory);
        }
        Ok(found)
    }

    /// Every ecosystem the bundle has advisories for.
    pub fn ecosystems(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// Every (ecosystem, normalised name) the bundle has advisories for.
    pub fn package_keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.index
            .iter()
            .flat_map(|(ecosystem, names)| names.keys().map(move |name| (ecosystem.as_str(), name.as_str())))
    }
}

/// A `file:` URI opening `path` with `immutable=1`: a bundle is never written in place
/// (builds rename a new file over it, and an open handle keeps the old one), so SQLite
/// may skip its per-query file locking, which dominates lookups otherwise.
fn immutable_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for byte in absolute.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => uri.push(char::from(*byte)),
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Format Unix seconds as RFC 3339 UTC (`2026-12-02T05:31:39Z`), without a date crate.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds_of_day = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days, on non-negative day counts.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::osv;

    #[test]
    fn immutable_uris_escape_paths() {
        assert_eq!(immutable_uri(Path::new("/a b/c?d#e%.db")), "file:/a%20b/c%3Fd%23e%25.db?immutable=1");
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_189_499), "2026-12-02T05:31:39Z");
    }

    fn sample() -> (Vec<Advisory>, ImportCounts) {
        let mut counts = ImportCounts::default();
        let document = serde_json::json!([
            {"id": "PYSEC-1", "modified": "2024-05-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "Jinja2"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]}]}]},
            {"id": "PYSEC-2", "modified": "2024-06-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4"}]}]}]}
        ]);
        (osv::parse_document(document, "sample.json", "pypa", &mut counts), counts)
    }

    #[test]
    fn builds_opens_and_replaces_atomically() {
        let directory = std::env::temp_dir().join(format!("snapscan-store-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("advisories.db");
        let (advisories, counts) = sample();
        let report = write_bundle(
            &path,
            vec![("pypa".to_string(), "/feeds/pypa".to_string(), advisories, counts)],
            1_796_189_499,
        )
        .unwrap();
        assert_eq!(report.info.advisories, 2);
        assert_eq!(report.info.sources[0].newest_modified.as_deref(), Some("2024-06-01T00:00:00Z"));
        let database = Database::open(&path).unwrap();
        assert_eq!(database.info().built_at, "2026-12-02T05:31:39Z");
        let found = database.advisories_for("PyPI", "jinja2").unwrap();
        assert_eq!(found.len(), 2);
        assert!(database.advisories_for("PyPI", "flask").unwrap().is_empty());
        assert!(database.advisories_for("npm", "jinja2").unwrap().is_empty());
        drop(database);

        // Rebuilding replaces the file; no temporary is left behind.
        write_bundle(&path, vec![("empty".to_string(), "-".to_string(), Vec::new(), ImportCounts::default())], 1)
            .unwrap();
        assert_eq!(Database::open(&path).unwrap().info().advisories, 0);
        let leftovers: Vec<_> = std::fs::read_dir(&directory)
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = std::fs::remove_dir_all(&directory);
    }

    #[test]
    fn refuses_missing_garbage_and_newer_bundles() {
        let directory = std::env::temp_dir().join(format!("snapscan-store-bad-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let missing = Database::open(&directory.join("nope.db")).unwrap_err().to_string();
        assert!(missing.contains("db build"), "{missing}");
        let garbage = directory.join("garbage.db");
        std::fs::write(
            &garbage,
            b"this is not sqlite at all, not even close......................................................",
        )
        .unwrap();
        assert!(matches!(Database::open(&garbage), Err(AdvisoryError::Sqlite { .. })));
        let newer = directory.join("newer.db");
        let (advisories, counts) = sample();
        write_bundle(&newer, vec![("pypa".to_string(), "-".to_string(), advisories, counts)], 0).unwrap();
        Connection::open(&newer)
            .unwrap()
            .execute("UPDATE metadata SET value = '99' WHERE key = 'schema_version'", [])
            .unwrap();
        let error = Database::open(&newer).unwrap_err().to_string();
        assert!(error.contains("schema version 99"), "{error}");
        let _ = std::fs::remove_dir_all(&directory);
    }
}
