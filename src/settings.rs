//! Validated settings: what the core needs, made from the command line. Core modules
//! never see clap types.

use crate::aws::AwsOptions;
use crate::aws::cleanup::parse_age;
use crate::aws::eligibility::Rules;
use crate::aws::run::{AwsTarget, InstanceOptions};
use crate::cli::{AwsArguments, Cli, Command, FormatArgument, InstanceScanArguments, OutputArguments, ScanTarget};
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
    /// AWS settings, when targets are in AWS or for `cleanup`.
    pub aws: Option<AwsSettings>,
    /// Set for `snapscan cleanup` (then there are no targets).
    pub cleanup: Option<CleanupSettings>,
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
        let base = |targets: Vec<TargetSpec>, output: OutputArguments, aws: Option<AwsSettings>| Self {
            targets,
            format: match output.format {
                FormatArgument::Table => Format::Table,
                FormatArgument::Json => Format::Json,
            },
            output: output.output,
            verbosity,
            progress,
            aws,
            cleanup: None,
        };
        match cli.command {
            Command::Scan(ScanTarget::Image(arguments)) => {
                for path in &arguments.paths {
                    if path.as_os_str().is_empty() {
                        anyhow::bail!("an image path is empty");
                    }
                }
                Ok(base(arguments.paths.into_iter().map(TargetSpec::Image).collect(), arguments.output, None))
            }
            Command::Scan(ScanTarget::Snapshot(arguments)) => {
                let ids = checked_ids(arguments.snapshot_ids, "snap-")?;
                let aws = aws_settings(&arguments.aws, None)?;
                Ok(base(
                    ids.into_iter().map(|id| TargetSpec::Aws(AwsTarget::Snapshot(id))).collect(),
                    arguments.output,
                    Some(aws),
                ))
            }
            Command::Scan(ScanTarget::Ami(arguments)) => {
                let ids = checked_ids(arguments.image_ids, "ami-")?;
                let aws = aws_settings(&arguments.aws, None)?;
                Ok(base(
                    ids.into_iter().map(|id| TargetSpec::Aws(AwsTarget::Image(id))).collect(),
                    arguments.output,
                    Some(aws),
                ))
            }
            Command::Scan(ScanTarget::Instance(arguments)) => {
                let ids = checked_ids(arguments.instance_ids, "i-")?;
                let aws = aws_settings(&arguments.aws, Some(&arguments.instance))?;
                Ok(base(vec![TargetSpec::Aws(AwsTarget::Instances(ids))], arguments.output, Some(aws)))
            }
            Command::Scan(ScanTarget::Instances(arguments)) => {
                let filters =
                    arguments.filters.iter().map(|filter| parse_filter(filter)).collect::<anyhow::Result<Vec<_>>>()?;
                let mut aws = aws_settings(&arguments.aws, Some(&arguments.instance))?;
                if !arguments.no_sweep {
                    aws.instances.sweep_older_than =
                        Some(parse_age(&arguments.sweep_older_than).map_err(anyhow::Error::msg)?);
                }
                Ok(base(vec![TargetSpec::Aws(AwsTarget::InstancesMatching(filters))], arguments.output, Some(aws)))
            }
            Command::Cleanup(arguments) => {
                let older_than = parse_age(&arguments.older_than).map_err(anyhow::Error::msg)?;
                let aws = aws_settings(&arguments.aws, None)?;
                let output = OutputArguments { format: FormatArgument::Table, output: None };
                Ok(Self {
                    cleanup: Some(CleanupSettings { older_than, dry_run: arguments.dry_run }),
                    ..base(Vec::new(), output, Some(aws))
                })
            }
        }
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
