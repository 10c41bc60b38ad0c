//! Report writers. Every format reads only the `Scan` value; results go to stdout or
//! `--output`, never mixed with logs (stderr).

pub mod json;
pub mod table;

use crate::model::Scan;
use std::io::{self, Write};
use std::path::Path;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Tables for people.
    Table,
    /// The JSON contract.
    Json,
}

/// Write `scan` in `format`.
pub fn write(scan: &Scan, format: Format, output: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::write(scan, output),
        Format::Json => json::write(scan, output),
    }
}

/// Write the report to `path` atomically: a temporary file beside it, then a rename, so a
/// reader (or a cron job's consumer) never sees half a report.
pub fn write_file(scan: &Scan, format: Format, path: &Path) -> io::Result<()> {
    let directory = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name"))?;
    let temporary = directory.join(format!(".{}.{}.tmp", file_name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = io::BufWriter::new(std::fs::File::create(&temporary)?);
        write(scan, format, &mut file)?;
        file.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
