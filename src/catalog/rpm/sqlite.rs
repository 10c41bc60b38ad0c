//! rpm's SQLite database `rpmdb.sqlite` (Amazon Linux 2023, RHEL 9+, Fedora 33+).
//!
//! The `Packages` table holds one header blob per row (`hnum`, `blob`). SQLite cannot read
//! from a `FileReader`, so the file is copied into a private temporary directory (mode
//! 0700, created fresh, removed on drop) and opened read-only: `immutable` (no locks, no
//! journal) unless a non-empty write-ahead log came with it, which SQLite then applies to
//! the copy. `trusted_schema` is off so the attacker's schema cannot run SQL functions
//! through views or triggers, and SQLite's own length limit is the largest header rpm
//! accepts.

use super::MAXIMUM_DATABASE_LENGTH;
use super::header::MAXIMUM_BLOB_LENGTH;
use super::{DatabaseError, read_exact_at};
use crate::fs::FileReader;
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The 16-byte SQLite file header.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Copy buffer size.
const COPY_CHUNK: usize = 1024 * 1024;

/// True when the first bytes of a file are an SQLite database.
pub fn is_sqlite(start: &[u8]) -> bool {
    start.get(0..16) == Some(SQLITE_MAGIC.as_slice())
}

/// A private copy of the database (and its write-ahead log, when it has one) in a fresh
/// directory of its own (mode 0700), removed with everything SQLite put there when dropped.
struct TemporaryCopy {
    directory: PathBuf,
    database: PathBuf,
}

impl TemporaryCopy {
    fn create(reader: &mut dyn FileReader, write_ahead_log: Option<&[u8]>) -> Result<Self, DatabaseError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let size = reader.size();
        // Checked again here because this is where the size becomes disk space used.
        if size > MAXIMUM_DATABASE_LENGTH {
            return Err(DatabaseError::Corrupt(format!(
                "{size} bytes is over the {MAXIMUM_DATABASE_LENGTH}-byte limit"
            )));
        }
        let name = format!("snapscan-rpmdb-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let directory = std::env::temp_dir().join(name);
        std::fs::DirBuilder::new().mode(0o700).create(&directory)?;
        // From here on the directory exists, so the guard must own it to remove it on failure.
        let copy = Self { database: directory.join("rpmdb.sqlite"), directory };
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&copy.database)?;
        let mut buffer = vec![0u8; COPY_CHUNK];
        let mut offset = 0u64;
        while offset < size {
            let length = usize::try_from((size - offset).min(COPY_CHUNK as u64)).unwrap_or(COPY_CHUNK);
            let chunk = buffer.get_mut(..length).unwrap_or_default();
            read_exact_at(reader, offset, chunk)?;
            file.write_all(chunk)?;
            offset += length as u64;
        }
        file.flush()?;
        if let Some(log) = write_ahead_log {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(copy.directory.join("rpmdb.sqlite-wal"))?;
            file.write_all(log)?;
            file.flush()?;
        }
        Ok(copy)
    }

    /// An SQLite URI for the copy (the path percent-encoded). `immutable` when there is no
    /// log to replay: SQLite then takes no locks and reads no journal.
    fn uri(&self, immutable: bool) -> String {
        let mut uri = String::from("file:");
        for byte in self.database.as_os_str().as_encoded_bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' => uri.push(char::from(*byte)),
                _ => uri.push_str(&format!("%{byte:02X}")),
            }
        }
        if immutable {
            uri.push_str("?immutable=1");
        }
        uri
    }
}

impl Drop for TemporaryCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

impl From<rusqlite::Error> for DatabaseError {
    fn from(error: rusqlite::Error) -> Self {
        DatabaseError::Corrupt(format!("sqlite: {error}"))
    }
}

/// A problem when the SQLite header says the database is longer than the file: SQLite
/// reads missing pages as zeros, so a cut file could otherwise read as a smaller valid one.
fn truncation(reader: &mut dyn FileReader) -> Result<Option<String>, DatabaseError> {
    let mut header = [0u8; 100];
    read_exact_at(reader, 0, &mut header)?;
    let field =
        |at: usize| header.get(at..at + 4).and_then(|bytes| bytes.try_into().ok()).map_or(0, u32::from_be_bytes);
    // The page count is only kept up to date when these two counters agree.
    if field(24) != field(92) {
        return Ok(None);
    }
    let page_size = match header.get(16..18) {
        Some([0, 1]) => 65536,
        Some(&[high, low]) => u64::from(u16::from_be_bytes([high, low])),
        _ => return Ok(None),
    };
    let expected = page_size.saturating_mul(u64::from(field(28)));
    let size = reader.size();
    Ok((expected > size).then(|| format!("file is {size} bytes, but its header says {expected}: truncated")))
}

/// Read every header blob of the `Packages` table: `visit(hnum, blob)` for each.
pub fn read(
    reader: &mut dyn FileReader,
    visit: &mut dyn FnMut(u64, &[u8]),
    problems: &mut Vec<String>,
) -> Result<(), DatabaseError> {
    read_with_log(reader, None, visit, problems)
}

/// [`read`], with the transactions of the database's write-ahead log (`rpmdb.sqlite-wal`)
/// applied when it has one: rpm merges the log into the database when it closes, so a
/// non-empty log (a snapshot of a running system) holds the latest installs.
pub fn read_with_log(
    reader: &mut dyn FileReader,
    write_ahead_log: Option<&[u8]>,
    visit: &mut dyn FnMut(u64, &[u8]),
    problems: &mut Vec<String>,
) -> Result<(), DatabaseError> {
    problems.extend(truncation(reader)?);
    let write_ahead_log = write_ahead_log.filter(|log| !log.is_empty());
    let copy = TemporaryCopy::create(reader, write_ahead_log)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(copy.uri(write_ahead_log.is_none()), flags)?;
    connection.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    connection.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    let length_limit = i32::try_from(MAXIMUM_BLOB_LENGTH).unwrap_or(i32::MAX);
    connection.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH, length_limit)?;
    let has_table: bool = connection.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'Packages'",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Err(DatabaseError::Corrupt("no Packages table".to_string()));
    }
    let mut statement = connection.prepare("SELECT hnum, blob FROM Packages")?;
    let mut rows = statement.query([])?;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(error) => {
                // A corrupt page ends the table scan; what was read so far stands.
                problems.push(format!("Packages table: {error}"));
                break;
            }
        };
        let record: i64 = match row.get(0) {
            Ok(record) => record,
            Err(error) => {
                problems.push(format!("Packages row: {error}"));
                continue;
            }
        };
        match row.get_ref(1) {
            Ok(rusqlite::types::ValueRef::Blob(blob)) => visit(u64::try_from(record).unwrap_or(0), blob),
            Ok(_) => problems.push(format!("header {record}: not a blob")),
            Err(error) => problems.push(format!("header {record}: {error}")),
        }
    }
    Ok(())
}

#[cfg(test)]
pub mod testing {
    //! rpm-style SQLite databases whose rows are still in the write-ahead log.
    use rusqlite::Connection;

    /// `(database, write-ahead log)` bytes of an rpm database whose rows (`blobs`) were
    /// committed to the log but not yet merged: copied while the writer is still open.
    pub fn database_with_unmerged_log(blobs: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let path = std::env::temp_dir().join(format!(
            "snapscan-test-wal-{}-{:?}.sqlite",
            std::process::id(),
            std::thread::current().id()
        ));
        let log_path = path.with_extension("sqlite-wal");
        let connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "journal_mode", "WAL").unwrap();
        connection.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        connection.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        for blob in blobs {
            connection.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob]).unwrap();
        }
        let copies = (std::fs::read(&path).unwrap(), std::fs::read(&log_path).unwrap());
        drop(connection);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&log_path);
        copies
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::testing::package;
    use super::super::testing::{BytesReader, Outcome, read_with, sqlite_copies};
    use super::*;

    /// An SQLite database file made by `statements`, as bytes.
    fn database(statements: &str, blobs: &[Vec<u8>]) -> Vec<u8> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "snapscan-test-{}-{}.sqlite",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(statements).unwrap();
        for blob in blobs {
            connection.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob]).unwrap();
        }
        drop(connection);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        bytes
    }

    const RPM_SCHEMA: &str = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);";

    fn read_all(bytes: Vec<u8>) -> Outcome {
        read_with(read, bytes)
    }

    fn leftover_copies() -> usize {
        let prefix = format!("snapscan-rpmdb-{}-", std::process::id());
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter(|entry| entry.as_ref().unwrap().file_name().to_string_lossy().starts_with(&prefix))
            .count()
    }

    #[test]
    fn reads_rows_and_removes_the_copy() {
        let _guard = sqlite_copies();
        let blobs = vec![
            package("bash", None, "5.2.15", "1.amzn2023", "x86_64"),
            package("openssl-libs", Some(1), "3.0.8", "1.amzn2023.0.3", "x86_64"),
        ];
        let (result, records, problems) = read_all(database(RPM_SCHEMA, &blobs));
        result.unwrap();
        assert!(problems.is_empty());
        assert_eq!(records, vec![(1, blobs[0].clone()), (2, blobs[1].clone())]);
        assert_eq!(leftover_copies(), 0);
    }

    #[test]
    fn rows_still_in_the_write_ahead_log_are_read() {
        let _guard = sqlite_copies();
        let blobs = [package("bash", None, "1", "1", "x86_64"), package("openssl-libs", None, "1", "1", "x86_64")];
        let (database, log) = testing::database_with_unmerged_log(&blobs);
        assert!(!log.is_empty());
        let mut records = Vec::new();
        let mut problems = Vec::new();
        let mut reader = BytesReader(database.clone());
        read_with_log(&mut reader, Some(&log), &mut |record, _| records.push(record), &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(records, [1, 2]);
        // Without the log the same database has no rows yet.
        let (result, without_log, _) = read_all(database);
        result.unwrap();
        assert!(without_log.is_empty());
        assert_eq!(leftover_copies(), 0);
    }

    #[test]
    fn missing_table_empty_and_garbage_are_errors() {
        let _guard = sqlite_copies();
        let other = database("CREATE TABLE Packages2 (hnum INTEGER, blob BLOB); CREATE TABLE Packages_ (x);", &[]);
        assert!(
            matches!(read_all(other).0, Err(DatabaseError::Corrupt(message)) if message.contains("no Packages table"))
        );
        assert!(read_all(Vec::new()).0.is_err());
        let mut garbage = SQLITE_MAGIC.to_vec();
        garbage.extend_from_slice(&[0xAB; 4000]);
        assert!(read_all(garbage).0.is_err());
        assert_eq!(leftover_copies(), 0);
    }

    #[test]
    fn a_file_shorter_than_its_header_says_is_a_problem() {
        let _guard = sqlite_copies();
        let whole = database(RPM_SCHEMA, &[package("bash", None, "5.2", "1", "x86_64")]);
        let (result, records, problems) = read_all(whole[..whole.len() - 1].to_vec());
        assert!(result.is_ok());
        assert_eq!(records.len(), 1);
        assert!(problems[0].ends_with("truncated"), "{problems:?}");
        assert!(read_all(whole).2.is_empty());
    }

    #[test]
    fn truncated_database_is_an_error_or_a_problem() {
        let _guard = sqlite_copies();
        let blobs: Vec<Vec<u8>> =
            (0..200).map(|index| package(&format!("package{index}"), None, "1", "1", "x86_64")).collect();
        let whole = database(RPM_SCHEMA, &blobs);
        let (result, records, problems) = read_all(whole[..whole.len() / 2].to_vec());
        assert!(result.is_err() || !problems.is_empty(), "{} records", records.len());
    }
}
