//! Validated settings: what the core needs, made from the command line. Core modules
//! never see clap types.

use crate::advisory::SeverityBand;
use crate::aws::AwsOptions;
use crate::aws::cleanup::parse_age;
use crate::aws::eligibility::Rules;
use crate::aws::run::{AwsTarget, InstanceOptions, RegionalId};
use crate::cli::{
    AwsArguments, Cli, Command, DbCommand, FormatArgument, InstanceScanArguments, MatchArguments, OutputArguments,
    ScanTarget, SeverityArgument,
};
use crate::report::Format;
use crate::source::ebs::EbsOptions;
use std::path::PathBuf;
use std::time::Duration;

/// One thing to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// A local disk image file.
    Image(PathBuf),
    /// A snapshot, AMI or instances in AWS.
    Aws(AwsTarget),
}

/// How to reach AWS and scan instances (for AWS targets and `cleanup`).
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// Credentials, regions, endpoint, EBS tunables.
    pub options: AwsOptions,
    /// Eligibility, waiting, concurrency, sweep.
    pub instances: InstanceOptions,
}

/// `snapscan cleanup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupSettings {
    /// Only snapshots older than this.
    pub older_than: Duration,
    /// List, do not delete.
    pub dry_run: bool,
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
    /// Report language packages an OS package owns too, instead of folding them into it.
    pub all_packages: bool,
    /// Advisory matching.
    pub matching: MatchSettings,
    /// AWS settings, when targets are in AWS or for `cleanup`.
    pub aws: Option<AwsSettings>,
    /// Set for `snapscan cleanup` (then there are no targets).
    pub cleanup: Option<CleanupSettings>,
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
        // What every scan shares: report formats and destination, matching, AWS access.
        let scan = |targets: Vec<TargetSpec>,
                    report: OutputArguments,
                    matching: MatchArguments,
                    aws: Option<AwsSettings>|
         -> anyhow::Result<Self> {
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
                targets,
                formats,
                output,
                packages_only: report.packages_only,
                verbosity,
                progress,
                all_packages: report.all_packages,
                matching: MatchSettings::from_arguments(matching)?,
                aws,
                cleanup: None,
            })
        };
        match cli.command {
            Command::Scan(ScanTarget::Image(arguments)) => {
                for path in &arguments.paths {
                    if path.as_os_str().is_empty() {
                        anyhow::bail!("an image path is empty");
                    }
                }
                let targets = arguments.paths.into_iter().map(TargetSpec::Image).collect();
                scan(targets, arguments.output, arguments.matching, None)
            }
            Command::Scan(ScanTarget::Snapshot(arguments)) => {
                let ids = regional_ids(&arguments.snapshot_ids, "snap-", "snapshot")?;
                let aws = aws_settings(&arguments.aws, None)?;
                let targets = ids.into_iter().map(|id| TargetSpec::Aws(AwsTarget::Snapshot(id))).collect();
                scan(targets, arguments.output, arguments.matching, Some(aws))
            }
            Command::Scan(ScanTarget::Ami(arguments)) => {
                let ids = regional_ids(&arguments.image_ids, "ami-", "image")?;
                let aws = aws_settings(&arguments.aws, None)?;
                let targets = ids.into_iter().map(|id| TargetSpec::Aws(AwsTarget::Image(id))).collect();
                scan(targets, arguments.output, arguments.matching, Some(aws))
            }
            Command::Scan(ScanTarget::Instance(arguments)) => {
                let ids = checked_ids(arguments.instance_ids, "i-")?;
                let aws = aws_settings(&arguments.aws, Some(&arguments.instance))?;
                scan(vec![TargetSpec::Aws(AwsTarget::Instances(ids))], arguments.output, arguments.matching, Some(aws))
            }
            Command::Scan(ScanTarget::Instances(arguments)) => {
                let filters =
                    arguments.filters.iter().map(|filter| parse_filter(filter)).collect::<anyhow::Result<Vec<_>>>()?;
                let mut aws = aws_settings(&arguments.aws, Some(&arguments.instance))?;
                if !arguments.no_sweep {
                    aws.instances.sweep_older_than =
                        Some(parse_age(&arguments.sweep_older_than).map_err(anyhow::Error::msg)?);
                }
                let targets = vec![TargetSpec::Aws(AwsTarget::InstancesMatching(filters))];
                scan(targets, arguments.output, arguments.matching, Some(aws))
            }
            Command::Cleanup(arguments) => {
                let older_than = parse_age(&arguments.older_than).map_err(anyhow::Error::msg)?;
                let aws = aws_settings(&arguments.aws, None)?;
                let report = OutputArguments {
                    format: vec![FormatArgument::Table],
                    output: None,
                    output_dir: None,
                    packages_only: true,
                    all_packages: false,
                };
                let matching = MatchArguments { db: None, fail_on: None, ignore_unfixed: false, max_db_age: None };
                Ok(Self {
                    cleanup: Some(CleanupSettings { older_than, dry_run: arguments.dry_run }),
                    ..scan(Vec::new(), report, matching, Some(aws))?
                })
            }
            Command::Db(_) | Command::Completions { .. } | Command::Man => {
                anyhow::bail!("`db`, `completions` and `man` are not scans")
            }
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
            Command::Scan(_) | Command::Cleanup(_) | Command::Completions { .. } | Command::Man => None,
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

/// Ids must look like AWS ids of their kind (`snap-…`, `ami-…`, `i-…`).
fn checked_ids(ids: Vec<String>, prefix: &str) -> anyhow::Result<Vec<String>> {
    for id in &ids {
        let rest = id.strip_prefix(prefix).unwrap_or_default();
        if rest.is_empty() || !rest.chars().all(|character| character.is_ascii_alphanumeric()) {
            anyhow::bail!("{id:?} is not a valid id (expected {prefix}…)");
        }
    }
    Ok(ids)
}

/// Snapshot or AMI ids, each optionally region-qualified (`REGION:ID` or an ARN).
fn regional_ids(texts: &[String], prefix: &str, resource: &str) -> anyhow::Result<Vec<RegionalId>> {
    texts.iter().map(|text| RegionalId::parse(text, prefix, resource).map_err(anyhow::Error::msg)).collect()
}

/// `NAME=VALUE[,VALUE…]` → an EC2 filter; `tag:K=V` and `tag-key=K` are the usual ones.
fn parse_filter(text: &str) -> anyhow::Result<(String, Vec<String>)> {
    let (name, values) =
        text.split_once('=').ok_or_else(|| anyhow::anyhow!("filter {text:?} must be NAME=VALUE[,VALUE...]"))?;
    let values: Vec<String> = values.split(',').map(str::to_string).collect();
    if name.is_empty() || values.iter().any(String::is_empty) {
        anyhow::bail!("filter {text:?} must be NAME=VALUE[,VALUE...]");
    }
    Ok((name.to_string(), values))
}

fn aws_settings(arguments: &AwsArguments, instance: Option<&InstanceScanArguments>) -> anyhow::Result<AwsSettings> {
    if arguments.concurrency == 0 || arguments.volume_concurrency == 0 || arguments.cache_blocks == 0 {
        anyhow::bail!("--concurrency, --volume-concurrency and --cache-blocks must be at least 1");
    }
    let options = AwsOptions {
        profile: arguments.profile.clone(),
        regions: arguments.regions.clone(),
        endpoint_url: arguments.endpoint_url.clone(),
        role_arn: arguments.role_arn.clone(),
        adaptive_retries: arguments.adaptive_retries,
        ebs: EbsOptions {
            concurrency: arguments.concurrency,
            cache_blocks: arguments.cache_blocks,
            ..EbsOptions::default()
        },
    };
    let mut instances =
        InstanceOptions { volume_concurrency: arguments.volume_concurrency, ..InstanceOptions::default() };
    if let Some(instance) = instance {
        let defaults = Rules::default();
        instances.rules = Rules {
            exclusion_tag_keys: if instance.exclude_tag_keys.is_empty() {
                defaults.exclusion_tag_keys
            } else {
                instance.exclude_tag_keys.clone()
            },
            excluded_kms_keys: instance.exclude_kms_keys.clone(),
            maximum_volumes: instance.max_volumes,
            maximum_total_gib: instance.max_total_gib,
        };
        instances.snapshot_timeout = parse_age(&instance.snapshot_timeout).map_err(anyhow::Error::msg)?;
        if !(instance.poll_interval.is_finite() && (0.05..=600.0).contains(&instance.poll_interval)) {
            anyhow::bail!("--poll-interval must be between 0.05 and 600 seconds");
        }
        instances.poll_interval = Duration::from_secs_f64(instance.poll_interval);
    }
    Ok(AwsSettings { options, instances })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        assert_eq!(parse_filter("tag:Team=web").unwrap(), ("tag:Team".to_string(), vec!["web".to_string()]));
        assert_eq!(parse_filter("tag-key=Scan").unwrap(), ("tag-key".to_string(), vec!["Scan".to_string()]));
        assert_eq!(parse_filter("instance-state-name=running,stopped").unwrap().1.len(), 2);
        for bad in ["tag:Team", "=web", "tag:Team=", "a=b,,c"] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_checked() {
        assert!(checked_ids(vec!["snap-0123abcd".to_string()], "snap-").is_ok());
        for bad in ["snap-", "vol-123", "snap-12/../x", ""] {
            assert!(checked_ids(vec![bad.to_string()], "snap-").is_err(), "{bad}");
        }
    }
}
