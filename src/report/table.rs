//! The table report, for people: per target its partitions (filesystem, distro), then
//! packages, findings and issues, then one summary line.

use crate::model::Scan;
use std::io::{self, Write};

/// Render rows as left-aligned columns separated by two spaces.
pub fn columns(header: &[&str], rows: &[Vec<String>], output: &mut dyn Write) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>, output: &mut dyn Write| -> io::Result<()> {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(output, "{}", text.trim_end())
    };
    line(header.to_vec(), output)?;
    for row in rows {
        line(row.iter().map(String::as_str).collect(), output)?;
    }
    Ok(())
}

/// Write `scan` as tables.
pub fn write(scan: &Scan, output: &mut dyn Write) -> io::Result<()> {
    for target in &scan.targets {
        writeln!(output, "{} {}", target.kind, target.name)?;
        if let Some(error) = &target.error {
            writeln!(output, "  not scanned: {error}")?;
        }
        for volume in &target.volumes {
            writeln!(
                output,
                "  volume {} ({} bytes, partition table: {})",
                volume.id, volume.size, volume.partition_table
            )?;
            for partition in &volume.partitions {
                let number = partition.number.map_or_else(|| "-".to_string(), |number| number.to_string());
                let filesystem =
                    partition.filesystem.as_ref().map_or("no filesystem", |filesystem| filesystem.kind.as_str());
                let distro = partition
                    .distro
                    .as_ref()
                    .map(|distro| distro.pretty_name.clone().unwrap_or_else(|| distro.id.clone()))
                    .unwrap_or_default();
                writeln!(output, "    partition {number}: {filesystem} {distro} [{}]", partition.partition_type)?;
                let skipped = partition.filesystem.as_ref().map(|filesystem| &filesystem.skipped_directories);
                if let Some(skipped) = skipped.filter(|skipped| !skipped.is_empty()) {
                    writeln!(output, "      not walked: {}", skipped.join(", "))?;
                }
                let native =
                    partition.filesystem.as_ref().map_or(0, |filesystem| filesystem.native_package_executables);
                if native > 0 {
                    writeln!(output, "      not opened: {native} executables of native distro packages")?;
                }
            }
        }
    }
    writeln!(output)?;
    let rows: Vec<Vec<String>> = scan
        .packages
        .iter()
        .map(|package| {
            let location = package.locations.first().map(|location| location.path.clone()).unwrap_or_default();
            let more = package.locations.len().saturating_sub(1);
            let location = if more > 0 { format!("{location} (+{more})") } else { location };
            let version = match &package.status {
                Some(status) => format!("{} ({status})", package.version),
                None => package.version.clone(),
            };
            vec![package.name.clone(), version, package.ecosystem.purl_type().to_string(), location]
        })
        .collect();
    if rows.is_empty() {
        writeln!(output, "No packages found.")?;
    } else {
        columns(&["NAME", "VERSION", "TYPE", "LOCATION"], &rows, output)?;
    }
    if let Some(bundle) = &scan.advisory_database {
        writeln!(output)?;
        writeln!(
            output,
            "Advisory bundle built {} ({} old), {} advisories.",
            bundle.built_at,
            crate::db::describe_age(bundle.built_at_unix),
            bundle.advisories
        )?;
    }
    // Suppressed findings are counted, not listed: the JSON report keeps them with their rule.
    let shown: Vec<&crate::model::Finding> = crate::report::common::unsuppressed(scan).collect();
    let suppressed = scan.findings.len() - shown.len();
    if !shown.is_empty() {
        writeln!(output)?;
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|finding| {
                vec![
                    finding.severity.to_uppercase(),
                    finding.id.clone(),
                    finding.package.clone(),
                    finding.installed_version.clone(),
                    finding.fixed_version.clone().unwrap_or_else(|| "(no fix)".to_string()),
                ]
            })
            .collect();
        columns(&["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED"], &rows, output)?;
    }
    if !scan.issues.is_empty() {
        writeln!(output)?;
        writeln!(output, "Issues:")?;
        for issue in &scan.issues {
            let place = issue.location.as_ref().map(|location| format!("{location}: ")).unwrap_or_default();
            writeln!(output, "  {:?}: {place}{}", issue.severity, issue.message)?;
        }
    }
    writeln!(output)?;
    writeln!(
        output,
        "{} packages, {} findings{}, {} issues; read {:.1} MiB in {} calls, {} files visited, {} ms",
        scan.packages.len(),
        shown.len(),
        if suppressed > 0 { format!(" ({suppressed} suppressed)") } else { String::new() },
        scan.issues.len(),
        scan.stats.bytes_read as f64 / (1024.0 * 1024.0),
        scan.stats.read_calls,
        scan.stats.files_visited,
        scan.stats.elapsed_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filesystem_says_which_directories_it_did_not_walk() {
        let mut bytes = Vec::new();
        write(&crate::report::sample::scan(), &mut bytes).expect("write");
        let text = String::from_utf8(bytes).expect("UTF-8");
        assert!(text.contains("\n      not walked: /usr/share/doc, /usr/share/man\n"), "{text}");
    }
}
