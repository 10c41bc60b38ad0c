//! Validated settings: what the core needs, made from the command line. Core modules
//! never see clap types.

use crate::cli::{Cli, Command, FailOnArgument, FormatArgument, ScanTarget};
use crate::outcome::FailOn;
use crate::report::Format;
use std::path::PathBuf;

/// One thing to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// A local disk image file.
    Image(PathBuf),
}

/// How much to say on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Warnings and errors.
    Normal,
    /// Info.
    Verbose,
    /// Debug.
    Debug,
}

/// Where reports go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Standard output (one format).
    Stdout,
    /// One file, written whole then renamed (one format).
    File(PathBuf),
    /// Timestamped reports plus `latest.*`, under a lock (any number of formats).
    Directory(PathBuf),
}

/// Everything a scan run needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Targets, in the order given.
    pub targets: Vec<TargetSpec>,
    /// Report formats, in the order given, without repeats.
    pub formats: Vec<Format>,
    /// Where reports go.
    pub output: Output,
    /// Severity at which findings make the run exit 1.
    pub fail_on: Option<FailOn>,
    /// Leave findings out of the report (an inventory).
    pub packages_only: bool,
    /// Logging level.
    pub verbosity: Verbosity,
    /// Show progress on stderr (only ever on a terminal).
    pub progress: bool,
}

impl Settings {
    /// Validate the command line.
    pub fn from_cli(cli: Cli) -> anyhow::Result<Self> {
        let verbosity = match (cli.quiet, cli.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Debug,
        };
        let progress = !cli.quiet && !cli.no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
        match cli.command {
            Command::Scan(ScanTarget::Image(arguments)) => {
                for path in &arguments.paths {
                    if path.as_os_str().is_empty() {
                        anyhow::bail!("an image path is empty");
                    }
                }
                let report = arguments.output;
                let mut formats: Vec<Format> = Vec::new();
                for argument in report.format {
                    let format = format_of(argument);
                    if !formats.contains(&format) {
                        formats.push(format);
                    }
                }
                let output = match (report.output, report.output_dir) {
                    (_, Some(directory)) => Output::Directory(directory),
                    (Some(file), None) => Output::File(file),
                    (None, None) => Output::Stdout,
                };
                if formats.len() > 1 && !matches!(output, Output::Directory(_)) {
                    anyhow::bail!("several formats need --output-dir (one file per format)");
                }
                Ok(Self {
                    targets: arguments.paths.into_iter().map(TargetSpec::Image).collect(),
                    formats,
                    output,
                    fail_on: report.fail_on.map(|threshold| match threshold {
                        FailOnArgument::Low => FailOn::Low,
                        FailOnArgument::Medium => FailOn::Medium,
                        FailOnArgument::High => FailOn::High,
                        FailOnArgument::Critical => FailOn::Critical,
                    }),
                    packages_only: report.packages_only,
                    verbosity,
                    progress,
                })
            }
        }
    }
}

fn format_of(argument: FormatArgument) -> Format {
    match argument {
        FormatArgument::Table => Format::Table,
        FormatArgument::Json => Format::Json,
        FormatArgument::Cyclonedx => Format::Cyclonedx,
        FormatArgument::Spdx => Format::Spdx,
        FormatArgument::Sarif => Format::Sarif,
        FormatArgument::Csv => Format::Csv,
        FormatArgument::Asff => Format::Asff,
    }
}
