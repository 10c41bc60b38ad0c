//! Validated settings: what the core needs, made from the command line. Core modules
//! never see clap types.

use crate::advisory::SeverityBand;
use crate::advisory::update::UpdateOptions;
use crate::aws::AwsOptions;
use crate::aws::cleanup::parse_age;
use crate::aws::eligibility::Rules;
use crate::aws::run::{AwsTarget, InstanceOptions, RegionalId};
use crate::cli::{
    AwsArguments, Cli, Command, DbCommand, DbUpdateArguments, FormatArgument, InstanceScanArguments, MatchArguments,
    OutputArguments, ScanTarget, SeverityArgument,
};
use crate::config::{self, ConfigFile};
use crate::fs::walk::SkippedDirectories;
use crate::report::Format;
use crate::source::ebs::EbsOptions;
use std::collections::BTreeSet;
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
    /// Directories no walk enters.
    pub skipped_directories: SkippedDirectories,
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
    /// Suppression rules (`--ignore-file`, or the default file when present).
    pub suppressions: Option<crate::suppress::Suppressions>,
    /// `--ubuntu-pro`: Ubuntu systems also match Ubuntu Pro (ESM) records.
    pub ubuntu_pro: bool,
}

impl MatchSettings {
    /// Validate matching options; the suppression file is read only when findings are wanted.
    fn from_arguments(arguments: MatchArguments, wants_findings: bool) -> anyhow::Result<Self> {
        let max_age_seconds = arguments.max_db_age.as_deref().map(parse_duration).transpose()?;
        let suppressions =
            if wants_findings { crate::suppress::load_for_scan(arguments.ignore_file.as_deref())? } else { None };
        Ok(Self {
            suppressions,
            ubuntu_pro: arguments.ubuntu_pro,
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

/// Parse `90s`, `30m`, `12h` or `7d` into seconds: `--max-db-age`, which (unlike an age
/// to sweep) has no unitless `0`.
pub fn parse_duration(text: &str) -> anyhow::Result<u64> {
    if text.trim() == "0" {
        anyhow::bail!("--max-db-age {text:?}: expected a number and a unit (s, m, h, d)");
    }
    parse_age(text).map(|age| age.as_secs()).map_err(|error| anyhow::anyhow!("--max-db-age: {error}"))
}

/// The bundle's default place: `$XDG_CACHE_HOME/snapscan/advisories.db`, else
/// `~/.cache/snapscan/advisories.db`.
pub fn default_database() -> PathBuf {
    let cache = user_directory("XDG_CACHE_HOME", ".cache").unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("snapscan").join("advisories.db")
}

/// An XDG base directory: `$variable` when set and not empty, else `$HOME/<under_home>`.
pub fn user_directory(variable: &str, under_home: &str) -> Option<PathBuf> {
    let not_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    not_empty(variable).or_else(|| not_empty("HOME").map(|home| home.join(under_home)))
}

impl Settings {
    /// Validate the command line, with the configuration file (`--config`, else the usual
    /// places) filling in whatever the command line left out: flags always win.
    pub fn from_command_line(mut cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<Self> {
        let scans = matches!(cli.command, Command::Scan(_) | Command::Cleanup(_));
        // A named file must exist even for commands it has nothing for.
        let loaded = config::load(cli.config.as_deref())?;
        if let Some(loaded) = loaded.filter(|_| scans) {
            apply_config(&loaded.file, &GivenArguments::from_matches(matches), &mut cli);
        }
        Self::from_cli(cli)
    }

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
            let skipped_directories = skipped_directories(&report)?;
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
                skipped_directories,
                matching: MatchSettings::from_arguments(matching, !report.packages_only)?,
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
                    skip_directories: Vec::new(),
                    no_default_skips: false,
                };
                let matching = MatchArguments {
                    db: None,
                    fail_on: None,
                    ignore_unfixed: false,
                    max_db_age: None,
                    ignore_file: None,
                    ubuntu_pro: false,
                };
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

/// The arguments the user gave, on the command line or through an environment variable,
/// as opposed to clap's defaults: only these outrank the configuration file.
#[derive(Clone, Debug, Default)]
pub struct GivenArguments(BTreeSet<String>);

impl GivenArguments {
    /// Collect them from every level of subcommand.
    pub fn from_matches(matches: &clap::ArgMatches) -> Self {
        let mut given = BTreeSet::new();
        let mut level = Some(matches);
        while let Some(current) = level {
            for id in current.ids() {
                let source = current.value_source(id.as_str());
                if matches!(
                    source,
                    Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
                ) {
                    given.insert(id.as_str().to_string());
                }
            }
            level = current.subcommand().map(|(_, arguments)| arguments);
        }
        Self(given)
    }

    fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

/// Put the file's value into an argument the user did not give.
fn fill<T>(argument: &mut T, from_file: Option<T>, given: bool) {
    if let (false, Some(value)) = (given, from_file) {
        *argument = value;
    }
}

/// The configuration file's defaults, merged into the raw arguments so that one
/// validation (`from_cli`) covers both. The file's values were checked when it was read,
/// so the conversions below cannot fail.
fn apply_config(file: &ConfigFile, given: &GivenArguments, cli: &mut Cli) {
    if file.progress == Some(false) {
        cli.no_progress = true;
    }
    let (report, matching, aws, instance) = match &mut cli.command {
        Command::Scan(ScanTarget::Image(arguments)) => {
            (Some(&mut arguments.output), Some(&mut arguments.matching), None, None)
        }
        Command::Scan(ScanTarget::Snapshot(arguments)) => {
            (Some(&mut arguments.output), Some(&mut arguments.matching), Some(&mut arguments.aws), None)
        }
        Command::Scan(ScanTarget::Ami(arguments)) => {
            (Some(&mut arguments.output), Some(&mut arguments.matching), Some(&mut arguments.aws), None)
        }
        Command::Scan(ScanTarget::Instance(arguments)) => (
            Some(&mut arguments.output),
            Some(&mut arguments.matching),
            Some(&mut arguments.aws),
            Some(&mut arguments.instance),
        ),
        Command::Scan(ScanTarget::Instances(arguments)) => {
            let instances = &file.instances;
            fill(&mut arguments.filters, instances.filters.clone(), given.contains("filters"));
            let sweep = instances.sweep_older_than.clone();
            fill(&mut arguments.sweep_older_than, sweep, given.contains("sweep_older_than"));
            (
                Some(&mut arguments.output),
                Some(&mut arguments.matching),
                Some(&mut arguments.aws),
                Some(&mut arguments.instance),
            )
        }
        Command::Cleanup(arguments) => (None, None, Some(&mut arguments.aws), None),
        Command::Db(_) | Command::Completions { .. } | Command::Man => (None, None, None, None),
    };
    let given = |id: &str| given.contains(id);
    if let Some(report) = report {
        let formats = file.format.as_ref().map(|formats| {
            formats.iter().filter_map(|format| config::value_of::<FormatArgument>(format).ok()).collect()
        });
        fill(&mut report.format, formats, given("format"));
        // `--output FILE` is a destination too: it outranks the file's directory.
        fill(&mut report.output_dir, file.output_dir.clone().map(Some), given("output_dir") || given("output"));
        fill(&mut report.all_packages, file.all_packages, given("all_packages"));
        fill(&mut report.skip_directories, file.skip_directories.clone(), given("skip_directories"));
        fill(&mut report.no_default_skips, file.default_skips.map(|walk_them| !walk_them), given("no_default_skips"));
    }
    if let Some(matching) = matching {
        fill(&mut matching.db, file.db.clone().map(Some), given("db"));
        let fail_on = file.fail_on.as_deref().and_then(|band| config::value_of::<SeverityArgument>(band).ok());
        fill(&mut matching.fail_on, fail_on.map(Some), given("fail_on"));
        fill(&mut matching.ignore_unfixed, file.ignore_unfixed, given("ignore_unfixed"));
        fill(&mut matching.max_db_age, file.max_db_age.clone().map(Some), given("max_db_age"));
        fill(&mut matching.ignore_file, file.ignore_file.clone().map(Some), given("ignore_file"));
        fill(&mut matching.ubuntu_pro, file.ubuntu_pro, given("ubuntu_pro"));
    }
    if let Some(aws) = aws {
        let section = &file.aws;
        fill(&mut aws.profile, section.profile.clone().map(Some), given("profile"));
        fill(&mut aws.regions, section.regions.clone(), given("regions"));
        fill(&mut aws.endpoint_url, section.endpoint_url.clone().map(Some), given("endpoint_url"));
        fill(&mut aws.role_arn, section.role_arn.clone().map(Some), given("role_arn"));
        fill(&mut aws.tag_key, section.tag_key.clone().map(Some), given("tag_key"));
        fill(&mut aws.adaptive_retries, section.adaptive_retries, given("adaptive_retries"));
        fill(&mut aws.concurrency, section.concurrency, given("concurrency"));
        fill(&mut aws.volume_concurrency, section.volume_concurrency, given("volume_concurrency"));
        fill(&mut aws.cache_blocks, section.cache_blocks, given("cache_blocks"));
    }
    if let Some(instance) = instance {
        let section = &file.instances;
        fill(&mut instance.exclude_tag_keys, section.exclude_tag_keys.clone(), given("exclude_tag_keys"));
        fill(&mut instance.exclude_kms_keys, section.exclude_kms_keys.clone(), given("exclude_kms_keys"));
        fill(&mut instance.max_volumes, section.max_volumes, given("max_volumes"));
        fill(&mut instance.max_total_gib, section.max_total_gib, given("max_total_gib"));
        fill(&mut instance.snapshot_timeout, section.snapshot_timeout.clone(), given("snapshot_timeout"));
        fill(&mut instance.poll_interval, section.poll_interval, given("poll_interval"));
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
    /// Download feeds and replace the bundle.
    Update {
        /// The bundle to replace.
        database: PathBuf,
        /// Sources, checks and limits.
        options: UpdateOptions,
    },
}

impl DatabaseAction {
    /// The `db` command of the command line, if it is one. A path not given as a flag comes
    /// from `configured` (the configuration file's `db` key), then the default location;
    /// the file is read only for `db` commands.
    pub fn from_cli(
        cli: &Cli,
        configured: impl FnOnce() -> anyhow::Result<Option<PathBuf>>,
    ) -> anyhow::Result<Option<Self>> {
        let Command::Db(command) = &cli.command else { return Ok(None) };
        let configured = configured()?;
        let database =
            |flag: &Option<PathBuf>| flag.clone().or_else(|| configured.clone()).unwrap_or_else(default_database);
        Ok(Some(match command {
            DbCommand::Build(arguments) => {
                Self::Build { inputs: arguments.from.clone(), output: database(&arguments.output) }
            }
            DbCommand::Info(arguments) => Self::Info { database: database(&arguments.db) },
            DbCommand::Update(arguments) => {
                Self::Update { database: database(&arguments.db), options: update_options(arguments)? }
            }
        }))
    }
}

fn update_options(arguments: &DbUpdateArguments) -> anyhow::Result<UpdateOptions> {
    let mut sha256_pins = Vec::new();
    for pin in &arguments.sha256 {
        let (url, hex) = pin.rsplit_once('=').ok_or_else(|| anyhow::anyhow!("--sha256 {pin:?} must be URL=HEX"))?;
        if hex.len() != 64 || !hex.chars().all(|character| character.is_ascii_hexdigit()) {
            anyhow::bail!("--sha256 {pin:?}: {hex:?} is not 64 hex digits");
        }
        sha256_pins.push((url.to_string(), hex.to_ascii_lowercase()));
    }
    let defaults = UpdateOptions::default();
    Ok(UpdateOptions {
        osv_url: arguments.osv_url.clone(),
        ecosystems: if arguments.ecosystems.is_empty() { defaults.ecosystems } else { arguments.ecosystems.clone() },
        alas_urls: arguments.alas_urls.clone(),
        sha256_pins,
        max_download_bytes: parse_size(&arguments.max_download_size)?,
        timeout: parse_age(&arguments.timeout).map_err(|error| anyhow::anyhow!("--timeout: {error}")).and_then(
            |timeout| {
                if timeout.is_zero() { Err(anyhow::anyhow!("--timeout must be more than 0")) } else { Ok(timeout) }
            },
        )?,
    })
}

/// `1048576`, `512K`, `100M`, `2G` (powers of 1024) into bytes.
fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (number, scale) = match text.char_indices().last() {
        Some((index, 'K' | 'k')) => (&text[..index], 1u64 << 10),
        Some((index, 'M' | 'm')) => (&text[..index], 1 << 20),
        Some((index, 'G' | 'g')) => (&text[..index], 1 << 30),
        _ => (text, 1),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("--max-download-size {text:?}: expected bytes or a number with K, M or G"))?;
    match number.checked_mul(scale) {
        Some(0) => anyhow::bail!("--max-download-size must be more than 0"),
        Some(bytes) => Ok(bytes),
        None => anyhow::bail!("--max-download-size {text:?} is too large"),
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
pub fn parse_filter(text: &str) -> anyhow::Result<(String, Vec<String>)> {
    let (name, values) =
        text.split_once('=').ok_or_else(|| anyhow::anyhow!("filter {text:?} must be NAME=VALUE[,VALUE...]"))?;
    let values: Vec<String> = values.split(',').map(str::to_string).collect();
    if name.is_empty() || values.iter().any(String::is_empty) {
        anyhow::bail!("filter {text:?} must be NAME=VALUE[,VALUE...]");
    }
    Ok((name.to_string(), values))
}

/// `--poll-interval`: fast enough for tests against an emulator, never a busy loop.
pub fn check_poll_interval(seconds: f64) -> anyhow::Result<()> {
    if !(seconds.is_finite() && (0.05..=600.0).contains(&seconds)) {
        anyhow::bail!("--poll-interval must be between 0.05 and 600 seconds");
    }
    Ok(())
}

/// `--tag-key`: what EC2 accepts as a tag key we may write (1–128 characters, not in the
/// reserved `aws:` namespace).
pub fn check_tag_key(key: String) -> anyhow::Result<String> {
    if key.trim().is_empty() || key.chars().count() > 128 || key.to_ascii_lowercase().starts_with("aws:") {
        anyhow::bail!("--tag-key {key:?}: a tag key has 1 to 128 characters and does not start with aws:");
    }
    Ok(key)
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
        tag_key: arguments.tag_key.clone().map(check_tag_key).transpose()?,
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
        check_poll_interval(instance.poll_interval)?;
        instances.poll_interval = Duration::from_secs_f64(instance.poll_interval);
    }
    Ok(AwsSettings { options, instances })
}

/// The directories to skip: the documentation trees unless `--no-default-skips`, and each
/// `--skip-dir`, which must be absolute (it names a path on the scanned filesystem).
fn skipped_directories(report: &OutputArguments) -> anyhow::Result<SkippedDirectories> {
    for path in &report.skip_directories {
        if !path.starts_with('/') {
            anyhow::bail!("--skip-dir {path:?}: give an absolute path on the scanned filesystem (`/var/cache`)");
        }
    }
    let defaults = if report.no_default_skips { &[][..] } else { &crate::fs::walk::DOCUMENTATION_TREES[..] };
    let given = report.skip_directories.iter().map(String::as_str);
    Ok(SkippedDirectories::new(defaults.iter().copied().chain(given)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings for `arguments` with `config` as the configuration file.
    fn configured(arguments: &[&str], config: &str) -> Settings {
        use clap::{CommandFactory, FromArgMatches};
        let path =
            std::env::temp_dir().join(format!("snapscan-settings-{}-{}.toml", std::process::id(), arguments.len()));
        std::fs::write(&path, config).expect("write the file");
        let mut line = vec!["snapscan", "--config", path.to_str().expect("utf-8 path")];
        line.extend_from_slice(arguments);
        let matches = Cli::command().try_get_matches_from(line).expect("arguments parse");
        let cli = Cli::from_arg_matches(&matches).expect("arguments convert");
        let settings = Settings::from_command_line(cli, &matches).expect("settings");
        let _ = std::fs::remove_file(path);
        settings
    }

    #[test]
    fn the_configuration_file_fills_aws_and_instance_settings_and_flags_win() {
        let file = r#"
            fail_on = "high"
            [aws]
            regions = ["eu-west-1", "eu-central-1"]
            profile = "scanner"
            concurrency = 64
            volume_concurrency = 2
            [instances]
            filters = ["tag:Team=web"]
            exclude_tag_keys = ["DoNotScan"]
            max_volumes = 3
            snapshot_timeout = "45m"
            poll_interval = 0.5
            sweep_older_than = "12h"
        "#;
        let settings = configured(&["scan", "instances"], file);
        let aws = settings.aws.as_ref().expect("aws settings");
        assert_eq!(aws.options.regions, ["eu-west-1", "eu-central-1"]);
        assert_eq!(aws.options.profile.as_deref(), Some("scanner"));
        assert_eq!(aws.options.ebs.concurrency, 64);
        assert_eq!(aws.instances.volume_concurrency, 2);
        assert_eq!(aws.instances.rules.exclusion_tag_keys, ["DoNotScan"]);
        assert_eq!(aws.instances.rules.maximum_volumes, 3);
        assert_eq!(aws.instances.snapshot_timeout, Duration::from_secs(45 * 60));
        assert_eq!(aws.instances.poll_interval, Duration::from_millis(500));
        assert_eq!(aws.instances.sweep_older_than, Some(Duration::from_secs(12 * 3600)));
        assert_eq!(settings.matching.fail_on, Some(SeverityBand::High));
        let filters = vec![("tag:Team".to_string(), vec!["web".to_string()])];
        assert_eq!(settings.targets, [TargetSpec::Aws(AwsTarget::InstancesMatching(filters))]);

        let flags = [
            "scan",
            "instances",
            "--region",
            "us-west-2",
            "--concurrency",
            "8",
            "--max-volumes",
            "9",
            "--exclude-tag-key",
            "Mine",
            "--filter",
            "tag-key=Scan",
            "--fail-on",
            "low",
            "--sweep-older-than",
            "1h",
        ];
        let settings = configured(&flags, file);
        let aws = settings.aws.as_ref().expect("aws settings");
        assert_eq!(aws.options.regions, ["us-west-2"]);
        assert_eq!(aws.options.ebs.concurrency, 8);
        assert_eq!(aws.instances.volume_concurrency, 2, "what the flags leave out still comes from the file");
        assert_eq!(aws.instances.rules.maximum_volumes, 9);
        assert_eq!(aws.instances.rules.exclusion_tag_keys, ["Mine"]);
        assert_eq!(aws.instances.sweep_older_than, Some(Duration::from_secs(3600)));
        assert_eq!(settings.matching.fail_on, Some(SeverityBand::Low));
        let filters = vec![("tag-key".to_string(), vec!["Scan".to_string()])];
        assert_eq!(settings.targets, [TargetSpec::Aws(AwsTarget::InstancesMatching(filters))]);
    }

    #[test]
    fn documentation_trees_are_skipped_unless_asked_and_skip_dirs_add_to_them() {
        let settings = configured(&["scan", "image", "disk.img"], "");
        assert_eq!(settings.skipped_directories, SkippedDirectories::documentation());
        let settings = configured(&["scan", "image", "disk.img", "--skip-dir", "/srv/data"], "");
        assert!(settings.skipped_directories.contains(b"/srv/data"));
        assert!(settings.skipped_directories.contains(b"/usr/share/doc"));
        let file = "skip_directories = [\"/var/cache\"]\ndefault_skips = false\n";
        let settings = configured(&["scan", "image", "disk.img"], file);
        assert_eq!(settings.skipped_directories, SkippedDirectories::new(["/var/cache"]));
        // Flags win over the file.
        let settings = configured(&["scan", "image", "disk.img", "--skip-dir", "/opt/x"], file);
        assert_eq!(settings.skipped_directories, SkippedDirectories::new(["/opt/x"]));
        let settings = configured(&["scan", "image", "disk.img", "--no-default-skips"], "");
        assert_eq!(settings.skipped_directories, SkippedDirectories::default());
    }

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
    fn download_sizes_parse() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("512K").unwrap(), 512 << 10);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        for bad in ["", "G", "0", "1T", "-1M", "99999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
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
