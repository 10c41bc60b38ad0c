//! The `snapscan db` commands: build a bundle from feeds, update it from the network,
//! print a bundle's metadata.
//! Results go to the given writer (stdout); rejection reasons are logged (`-v`).

use crate::advisory::{self, Database, DatabaseInfo};
use crate::settings::DatabaseAction;
use anyhow::Context;
use std::io::Write;
use std::time::Instant;

/// Run a `db` command.
pub fn run(action: &DatabaseAction, output: &mut dyn Write) -> anyhow::Result<()> {
    match action {
        DatabaseAction::Build { inputs, output: bundle } => {
            if let Some(parent) = bundle.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            let started = Instant::now();
            let report = advisory::build(inputs, bundle).with_context(|| format!("building {}", bundle.display()))?;
            write_build_report(bundle, started, &report, output)
        }
        DatabaseAction::Update { database: bundle, options } => {
            let started = Instant::now();
            let report = advisory::update::update(bundle, options).with_context(|| {
                format!("updating {} failed; the previous bundle (if any) is unchanged", bundle.display())
            })?;
            write_build_report(bundle, started, &report, output)
        }
        DatabaseAction::Info { database } => {
            let database = Database::open(database)?;
            let info = database.info();
            writeln!(output, "bundle:      {}", database.path())?;
            writeln!(output, "built at:    {} ({} old)", info.built_at, describe_age(info.built_at_unix))?;
            writeln!(output, "built by:    {}", info.built_by)?;
            writeln!(output, "schema:      {}", info.schema_version)?;
            writeln!(output, "advisories:  {}", info.advisories)?;
            write_sources(info, output)?;
            Ok(())
        }
    }
}

/// What a build or update wrote: the bundle, its time, counts per source (rejections go to the log).
fn write_build_report(
    bundle: &std::path::Path,
    started: Instant,
    report: &advisory::BuildReport,
    output: &mut dyn Write,
) -> anyhow::Result<()> {
    for (source, counts) in &report.counts {
        for reason in &counts.rejected {
            tracing::info!(source = %source, "rejected: {reason}");
        }
        for reason in &counts.dropped {
            tracing::debug!(source = %source, "dropped: {reason}");
        }
    }
    writeln!(
        output,
        "built {} in {} ms: {} advisories",
        bundle.display(),
        started.elapsed().as_millis(),
        report.info.advisories
    )?;
    write_sources(&report.info, output)?;
    Ok(())
}

fn write_sources(info: &DatabaseInfo, output: &mut dyn Write) -> std::io::Result<()> {
    for source in &info.sources {
        writeln!(
            output,
            "  {}: {} records, {} imported, {} withdrawn, {} rejected, {} GIT ranges skipped; newest modified {} ({})",
            source.name,
            source.records,
            source.imported,
            source.withdrawn,
            source.rejected,
            source.git_ranges_skipped,
            source.newest_modified.as_deref().unwrap_or("unknown"),
            source.origin
        )?;
    }
    Ok(())
}

/// How long ago `unix_seconds` was, for people: `5 minutes`, `3 hours`, `12 days`.
pub fn describe_age(unix_seconds: u64) -> String {
    let now = crate::distro::unix_now();
    let age = now.saturating_sub(unix_seconds);
    match age {
        0..120 => format!("{age} seconds"),
        120..7200 => format!("{} minutes", age / 60),
        7200..172_800 => format!("{} hours", age / 3600),
        _ => format!("{} days", age / 86_400),
    }
}
