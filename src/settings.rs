//! Validated settings: what the core needs, made from the command line. Core modules
//! never see clap types.

use crate::cli::{Cli, Command, FormatArgument, ScanTarget};
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

/// Everything a scan run needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Targets, in the order given.
    pub targets: Vec<TargetSpec>,
    /// Report format.
    pub format: Format,
    /// Report file, or stdout.
    pub output: Option<PathBuf>,
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
                Ok(Self {
                    targets: arguments.paths.into_iter().map(TargetSpec::Image).collect(),
                    format: match arguments.output.format {
                        FormatArgument::Table => Format::Table,
                        FormatArgument::Json => Format::Json,
                    },
                    output: arguments.output.output,
                    verbosity,
                    progress,
                })
            }
        }
    }
}
