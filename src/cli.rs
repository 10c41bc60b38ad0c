//! Command-line syntax (clap derive) and nothing else: `settings` validates it into the
//! values the core uses, so clap types stop here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Find vulnerable software on Linux disks without running anything on them.
#[derive(Debug, Parser)]
#[command(name = "snapscan", version, about, max_term_width = 100)]
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
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = FormatArgument::Table)]
    pub format: FormatArgument,
    /// Write the report to this file instead of stdout (written whole, then renamed).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArgument {
    /// Human-readable tables.
    Table,
    /// The JSON contract (docs/json-output.md).
    Json,
}
