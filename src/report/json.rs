//! The JSON report: the `Scan` value as documented in `docs/json-output.md`.

use crate::model::Scan;
use std::io::{self, Write};

/// Write `scan` as pretty JSON with a trailing newline.
pub fn write(scan: &Scan, output: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *output, scan)?;
    writeln!(output)
}
