//! Report writers. Every format reads only the `Scan` value; results go to stdout or
//! `--output`, never mixed with logs (stderr).

pub mod asff;
pub mod common;
pub mod csv;
pub mod cyclonedx;
pub mod json;
pub mod output_directory;
#[cfg(test)]
pub mod sample;
pub mod sarif;
pub mod spdx;
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
    /// CycloneDX 1.6 JSON SBOM with vulnerabilities.
    Cyclonedx,
    /// SPDX 2.3 JSON SBOM.
    Spdx,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
    /// CSV table of packages, findings and issues.
    Csv,
    /// AWS Security Finding Format for Security Hub.
    Asff,
}

impl Format {
    /// File name extension used in `--output-dir` (`cdx.json`, `sarif`, …).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Table => "txt",
            Self::Json => "json",
            Self::Cyclonedx => "cdx.json",
            Self::Spdx => "spdx.json",
            Self::Sarif => "sarif",
            Self::Csv => "csv",
            Self::Asff => "asff.json",
        }
    }
}

/// The scan as an inventory (`--packages-only`): everything but the findings.
pub fn inventory_only(scan: Scan) -> Scan {
    Scan { findings: Vec::new(), ..scan }
}

/// Write `scan` in `format`.
pub fn write(scan: &Scan, format: Format, output: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::write(scan, output),
        Format::Json => json::write(scan, output),
        Format::Cyclonedx => cyclonedx::write(scan, output),
        Format::Spdx => spdx::write(scan, output),
        Format::Sarif => sarif::write(scan, output),
        Format::Csv => csv::write(scan, output),
        Format::Asff => asff::write(scan, output),
    }
}

/// Write the report to `path` atomically: a temporary file beside it, then a rename, so a
/// reader (or a cron job's consumer) never sees half a report.
pub fn write_file(scan: &Scan, format: Format, path: &Path) -> io::Result<()> {
    // `-o /dev/null`, `-o /dev/stdout` or a named pipe: write into it. Renaming a file over
    // a device node would replace the device (and, as root, break the machine's /dev/null).
    if std::fs::metadata(path).is_ok_and(|metadata| !metadata.is_file()) {
        let mut file = io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(path)?);
        write(scan, format, &mut file)?;
        return file.flush();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inventory_keeps_packages_and_issues_but_no_findings() {
        let scan = sample::scan();
        let inventory = inventory_only(scan.clone());
        assert!(inventory.findings.is_empty());
        assert_eq!(inventory.packages, scan.packages);
        assert_eq!(inventory.issues, scan.issues);
    }

    #[test]
    fn every_format_writes_the_sample_and_has_its_own_extension() {
        let formats =
            [Format::Table, Format::Json, Format::Cyclonedx, Format::Spdx, Format::Sarif, Format::Csv, Format::Asff];
        let mut extensions = std::collections::BTreeSet::new();
        for format in formats {
            let mut bytes = Vec::new();
            write(&sample::scan(), format, &mut bytes).expect("write");
            assert!(!bytes.is_empty(), "{format:?}");
            assert!(extensions.insert(format.extension()), "{format:?}");
        }
    }
}
