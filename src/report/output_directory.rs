//! `--output-dir`: reports for unattended runs (cron, systemd timers).
//!
//! Each run writes one `snapscan-<UTC time>.<ext>` per format plus `latest.<ext>`, so a
//! consumer can read the newest report by a fixed name and history is kept. Every file
//! appears whole or not at all (temporary file + rename; `latest` is a hard link swapped
//! in by rename). A lock file held for the whole run stops a second run from starting on
//! the same directory while one is still going — the usual failure when a scan outlasts
//! its cron interval. The lock is an OS file lock, so a run that is killed releases it.

use crate::model::Scan;
use crate::report::common::Timestamp;
use crate::report::{Format, write_file};
use fs4::TryLockError;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the output directory.
pub const LOCK_FILE_NAME: &str = ".snapscan.lock";

/// Most same-second runs told apart by a `-N` suffix before giving up.
const SAME_SECOND_LIMIT: u32 = 1000;

/// Why the output directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputDirectoryError {
    /// The directory could not be created.
    #[error("cannot create output directory {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another run holds the lock.
    #[error(
        "another snapscan run ({holder}) is writing to {directory}; not starting an overlapping run (lock file {lock})"
    )]
    Busy {
        /// The directory.
        directory: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// What the holder wrote in the lock file (its process id).
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A report could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Every candidate file name for this second was taken.
    #[error("too many reports for {time} in {directory}")]
    NamesExhausted {
        /// The directory.
        directory: PathBuf,
        /// The run's time.
        time: String,
    },
}

/// An output directory locked for this run; the lock is released when this is dropped.
#[derive(Debug)]
pub struct OutputDirectory {
    directory: PathBuf,
    _lock: File,
}

impl OutputDirectory {
    /// Create `directory` if needed and take its lock, or say which run holds it.
    pub fn lock(directory: &Path) -> Result<Self, OutputDirectoryError> {
        std::fs::create_dir_all(directory)
            .map_err(|source| OutputDirectoryError::Create { path: directory.to_path_buf(), source })?;
        let path = directory.join(LOCK_FILE_NAME);
        let lock_error = |source| OutputDirectoryError::Lock { path: path.clone(), source };
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(lock_error)?;
        // Through fs4 (flock), not `File::try_lock`, which needs Rust 1.89 (our MSRV is 1.85).
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder wrote a short line; read no more than that from a file anyone could fill.
                let _ = (&mut file).take(64).read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() { "unknown process".to_string() } else { holder.to_string() };
                return Err(OutputDirectoryError::Busy { directory: directory.to_path_buf(), lock: path, holder });
            }
            Err(TryLockError::Error(source)) => return Err(lock_error(source)),
        }
        file.set_len(0).map_err(lock_error)?;
        writeln!(file, "pid {}", std::process::id()).map_err(lock_error)?;
        Ok(Self { directory: directory.to_path_buf(), _lock: file })
    }

    /// Write `scan` in every format as `snapscan-<time>.<ext>` and point `latest.<ext>` at
    /// it. Returns the timestamped paths, in format order.
    pub fn write(
        &self,
        scan: &Scan,
        formats: &[Format],
        time: Timestamp,
    ) -> Result<Vec<PathBuf>, OutputDirectoryError> {
        let stem = self.free_stem(formats, time)?;
        let mut written = Vec::new();
        for &format in formats {
            let path = self.directory.join(format!("{stem}.{}", format.extension()));
            write_file(scan, format, &path)
                .map_err(|source| OutputDirectoryError::Write { path: path.clone(), source })?;
            let latest = self.directory.join(format!("latest.{}", format.extension()));
            point_latest(&path, &latest).map_err(|source| OutputDirectoryError::Write { path: latest, source })?;
            written.push(path);
        }
        Ok(written)
    }

    /// `snapscan-<time>`, or `snapscan-<time>-N` when a run in the same second took it.
    fn free_stem(&self, formats: &[Format], time: Timestamp) -> Result<String, OutputDirectoryError> {
        let base = format!("snapscan-{}", time.compact());
        for attempt in 1..=SAME_SECOND_LIMIT {
            let stem = if attempt == 1 { base.clone() } else { format!("{base}-{attempt}") };
            let taken =
                formats.iter().any(|format| self.directory.join(format!("{stem}.{}", format.extension())).exists());
            if !taken {
                return Ok(stem);
            }
        }
        Err(OutputDirectoryError::NamesExhausted { directory: self.directory.clone(), time: time.rfc3339() })
    }
}

/// Replace `latest` with a hard link to `report` (a copy where links are not supported),
/// made under a temporary name and renamed over, so `latest` is never missing or partial.
fn point_latest(report: &Path, latest: &Path) -> io::Result<()> {
    let directory = latest.parent().unwrap_or(Path::new("."));
    let name = latest.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let result = std::fs::hard_link(report, &temporary)
        .or_else(|_| std::fs::copy(report, &temporary).map(|_| ()))
        .and_then(|()| std::fs::rename(&temporary, latest));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn scratch(name: &str) -> PathBuf {
        let directory = std::env::temp_dir().join(format!("snapscan-output-directory-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        directory
    }

    fn names(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory)
            .expect("list directory")
            .filter_map(|entry| entry.ok().map(|entry| entry.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_timestamped_reports_and_latest_links() {
        let directory = scratch("write");
        let output = OutputDirectory::lock(&directory).expect("lock");
        let time = Timestamp { seconds: 1_796_189_619 };
        let scan = sample::scan();
        let first = output.write(&scan, &[Format::Json, Format::Sarif], time).expect("first run");
        assert_eq!(first[0].file_name().and_then(|name| name.to_str()), Some("snapscan-20261202T053339Z.json"));
        let second = output.write(&scan, &[Format::Json, Format::Sarif], time).expect("second run, same second");
        assert_eq!(second[1].file_name().and_then(|name| name.to_str()), Some("snapscan-20261202T053339Z-2.sarif"));
        assert_eq!(
            names(&directory),
            [
                ".snapscan.lock",
                "latest.json",
                "latest.sarif",
                "snapscan-20261202T053339Z-2.json",
                "snapscan-20261202T053339Z-2.sarif",
                "snapscan-20261202T053339Z.json",
                "snapscan-20261202T053339Z.sarif",
            ]
        );
        let latest = std::fs::read(directory.join("latest.sarif")).expect("latest");
        assert_eq!(latest, std::fs::read(&second[1]).expect("report"));
        drop(output);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let directory = scratch("lock");
        let first = OutputDirectory::lock(&directory).expect("first lock");
        let error = OutputDirectory::lock(&directory).expect_err("second lock must fail");
        let message = error.to_string();
        assert!(message.contains("another snapscan run"), "{message}");
        assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
        drop(first);
        let again = OutputDirectory::lock(&directory).expect("free after drop");
        drop(again);
        std::fs::remove_dir_all(&directory).expect("clean up");
    }

    #[test]
    fn an_unusable_directory_is_a_clear_error() {
        let directory = scratch("file");
        std::fs::create_dir_all(&directory).expect("create");
        let file = directory.join("plain-file");
        std::fs::write(&file, b"x").expect("write");
        let error = OutputDirectory::lock(&file.join("below")).expect_err("a file cannot hold a directory");
        assert!(error.to_string().starts_with("cannot create output directory"), "{error}");
        std::fs::remove_dir_all(&directory).expect("clean up");
    }
}
