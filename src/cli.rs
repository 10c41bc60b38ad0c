//! Command-line syntax (clap derive) and nothing else: `settings` validates it into the
//! values the core uses, so clap types stop here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The exit code contract (`outcome`), shown under `--help`.
const EXIT_CODES: &str = "Exit codes: 0 clean; 1 a finding at or above --fail-on; 2 error (bad arguments, \
locked or unwritable output, no target scanned); 3 partial (some targets could not be scanned).";

/// Find vulnerable software on Linux disks without running anything on them.
#[derive(Debug, Parser)]
#[command(name = "snapscan", version, about, max_term_width = 100, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Never show progress, even on a terminal.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets for installed software.
    #[command(subcommand)]
    Scan(ScanTarget),
}

/// What to scan.
#[derive(Debug, Subcommand)]
pub enum ScanTarget {
    /// Local raw disk images (a whole disk with GPT/MBR, or a bare filesystem).
    Image(ImageArguments),
}

/// `scan image`.
#[derive(Debug, Args)]
pub struct ImageArguments {
    /// Image files; each is one target.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Report options.
    #[command(flatten)]
    pub output: OutputArguments,
}

/// Options every scan shares.
#[derive(Debug, Args)]
pub struct OutputArguments {
    /// Report format; several, comma-separated, with --output-dir (`-f json,sarif`).
    #[arg(short, long, value_enum, value_delimiter = ',', default_value = "table")]
    pub format: Vec<FormatArgument>,
    /// Write the report to this file instead of stdout (written whole, then renamed).
    #[arg(short, long, value_name = "FILE", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,
    /// Write `snapscan-<UTC time>.<ext>` per format plus `latest.<ext>` into this directory,
    /// holding a lock so overlapping runs (cron) refuse to start.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArgument>,
    /// Report the package inventory only, without findings.
    #[arg(long)]
    pub packages_only: bool,
}

/// `--fail-on` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOnArgument {
    /// Low, medium, high or critical.
    Low,
    /// Medium, high or critical.
    Medium,
    /// High or critical.
    High,
    /// Critical.
    Critical,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArgument {
    /// Human-readable tables.
    Table,
    /// The JSON contract (docs/json-output.md).
    Json,
    /// CycloneDX 1.6 JSON SBOM with vulnerabilities.
    Cyclonedx,
    /// SPDX 2.3 JSON SBOM.
    Spdx,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// CSV: packages, findings and issues.
    Csv,
    /// AWS Security Hub findings (account from SNAPSCAN_AWS_ACCOUNT_ID, region from AWS_REGION).
    Asff,
}
