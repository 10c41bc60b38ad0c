//! Validated settings: what the core needs, made from the command line. Core modules
//! never see clap types.

use crate::advisory::SeverityBand;
use crate::cli::{Cli, Command, DbCommand, FormatArgument, MatchArguments, ScanTarget, SeverityArgument};
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

impl Verbosity {
    /// From `-q` and the count of `-v`.
    pub fn from_flags(quiet: bool, verbose: u8) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Debug,
        }
    }
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
    /// Leave findings out of the report (an inventory).
    pub packages_only: bool,
    /// Logging level.
    pub verbosity: Verbosity,
    /// Show progress on stderr (only ever on a terminal).
    pub progress: bool,
    /// Advisory matching.
    pub matching: MatchSettings,
}

/// How findings are matched and gated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchSettings {
    /// The advisory bundle.
    pub database: PathBuf,
    /// Whether `--db` named it (then a missing bundle is an error, not a warning).
    pub database_given: bool,
    /// `--fail-on`: exit 1 when a finding is at or above it.
    pub fail_on: Option<SeverityBand>,
    /// `--ignore-unfixed`.
    pub ignore_unfixed: bool,
    /// `--max-db-age` in seconds: an older bundle is an error.
    pub max_age_seconds: Option<u64>,
}

impl MatchSettings {
    fn from_arguments(arguments: MatchArguments) -> anyhow::Result<Self> {
        let max_age_seconds = arguments.max_db_age.as_deref().map(parse_duration).transpose()?;
        Ok(Self {
            max_age_seconds,
            database_given: arguments.db.is_some(),
            database: arguments.db.unwrap_or_else(default_database),
            fail_on: arguments.fail_on.map(|severity| match severity {
                SeverityArgument::Low => SeverityBand::Low,
                SeverityArgument::Medium => SeverityBand::Medium,
                SeverityArgument::High => SeverityBand::High,
                SeverityArgument::Critical => SeverityBand::Critical,
            }),
            ignore_unfixed: arguments.ignore_unfixed,
        })
    }
}

/// Parse `90s`, `30m`, `12h` or `7d` into seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("--max-db-age {text:?}: expected a number and a unit (s, m, h, d)"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("--max-db-age {text:?}: the unit must be s, m, h or d"),
    };
    number.checked_mul(scale).ok_or_else(|| anyhow::anyhow!("--max-db-age {text:?} is too large"))
}

/// The bundle's default place: `$XDG_CACHE_HOME/snapscan/advisories.db`, else
/// `~/.cache/snapscan/advisories.db`.
pub fn default_database() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("snapscan").join("advisories.db")
}

impl Settings {
    /// Validate the command line.
    pub fn from_cli(cli: Cli) -> anyhow::Result<Self> {
        let verbosity = Verbosity::from_flags(cli.quiet, cli.verbose);
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
                    packages_only: report.packages_only,
                    verbosity,
                    progress,
                    matching: MatchSettings::from_arguments(arguments.matching)?,
                })
            }
            Command::Db(_) => anyhow::bail!("`db` commands are not scans"),
        }
    }
}

/// A `snapscan db` command, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseAction {
    /// Build a bundle from feeds.
    Build {
        /// Feed paths, one source each.
        inputs: Vec<PathBuf>,
        /// The bundle to write.
        output: PathBuf,
    },
    /// Print a bundle's metadata.
    Info {
        /// The bundle.
        database: PathBuf,
    },
}

impl DatabaseAction {
    /// The `db` command of the command line, if it is one.
    pub fn from_cli(cli: &Cli) -> Option<Self> {
        match &cli.command {
            Command::Db(DbCommand::Build(arguments)) => Some(Self::Build {
                inputs: arguments.from.clone(),
                output: arguments.output.clone().unwrap_or_else(default_database),
            }),
            Command::Db(DbCommand::Info(arguments)) => {
                Some(Self::Info { database: arguments.db.clone().unwrap_or_else(default_database) })
            }
            Command::Scan(_) => None,
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
