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
    /// Defaults file [default: $SNAPSCAN_CONFIG, ./snapscan.toml, ~/.config/snapscan/config.toml];
    /// flags win over it (docs/config.md).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Top-level commands.
// Parsed once per run: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets for installed software.
    #[command(subcommand)]
    Scan(ScanTarget),
    /// Build, update and inspect the offline advisory bundle.
    #[command(subcommand)]
    Db(DbCommand),
    /// Delete snapshots left behind by killed runs (only those carrying our tag key).
    Cleanup(CleanupArguments),
    /// Print a shell completion script (`snapscan completions bash > /etc/bash_completion.d/snapscan`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these definitions.
    Man,
}

/// `db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build a bundle from advisory feeds: OSV directories, `all.zip` files, JSON/YAML
    /// records, Alpine secdb files, Amazon Linux `updateinfo.xml(.gz)`.
    Build(DbBuildArguments),
    /// Print a bundle's metadata: build time, sources, record counts.
    Info(DbInfoArguments),
    /// Download OSV's bulk archives (and Amazon Linux feeds given by URL), verify them,
    /// build a bundle and swap it in atomically; a failure keeps the old bundle.
    Update(DbUpdateArguments),
}

/// `db update`.
#[derive(Debug, Args)]
pub struct DbUpdateArguments {
    /// Bundle to replace [default: the user cache bundle].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Base URL of the OSV export; archives are read from BASE/ECOSYSTEM/all.zip.
    #[arg(long, value_name = "URL", default_value = crate::advisory::update::DEFAULT_OSV_URL)]
    pub osv_url: String,
    /// OSV ecosystem to download; repeatable [default: every ecosystem snapscan matches].
    #[arg(long = "ecosystem", value_name = "NAME")]
    pub ecosystems: Vec<String>,
    /// Amazon Linux feed: a repository's mirror.list, repodata/repomd.xml, or an
    /// updateinfo.xml(.gz); repeatable.
    #[arg(long = "alas-url", value_name = "URL")]
    pub alas_urls: Vec<String>,
    /// Expected SHA-256 of the file at a URL (`URL=HEX`); repeatable.
    #[arg(long = "sha256", value_name = "URL=HEX")]
    pub sha256: Vec<String>,
    /// Largest download accepted: bytes, or with a K, M or G suffix (powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "2G")]
    pub max_download_size: String,
    /// Deadline for each download (`90s`, `15m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    pub timeout: String,
}

/// `db build`.
#[derive(Debug, Args)]
pub struct DbBuildArguments {
    /// Feed directories or files; each is one source, named by its file name.
    #[arg(long = "from", required = true, value_name = "PATH")]
    pub from: Vec<PathBuf>,
    /// Bundle to write (replaced atomically) [default: the user cache bundle].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `db info`.
#[derive(Debug, Args)]
pub struct DbInfoArguments {
    /// Bundle to read [default: the user cache bundle].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

/// Advisory matching options of a scan.
#[derive(Debug, Args)]
pub struct MatchArguments {
    /// Advisory bundle [default: $XDG_CACHE_HOME/snapscan/advisories.db].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArgument>,
    /// Leave out findings that have no fixed version yet.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Refuse a bundle built longer ago than this (`12h`, `7d`, `90m`, `3600s`).
    #[arg(long, value_name = "DURATION")]
    pub max_db_age: Option<String>,
    /// Suppression rules (YAML) [default: .snapscan-ignore.yaml in the current directory, if present].
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// Ubuntu systems have Ubuntu Pro (ESM): also match `Ubuntu:Pro:<release>` records,
    /// which then decide for the packages they name.
    #[arg(long)]
    pub ubuntu_pro: bool,
}

/// `--fail-on` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SeverityArgument {
    /// CVSS 0.1-3.9.
    Low,
    /// CVSS 4.0-6.9.
    Medium,
    /// CVSS 7.0-8.9.
    High,
    /// CVSS 9.0-10.0.
    Critical,
}

/// What to scan.
#[derive(Debug, Subcommand)]
pub enum ScanTarget {
    /// Local raw disk images (a whole disk with GPT/MBR, or a bare filesystem).
    Image(ImageArguments),
    /// Existing EBS snapshots, read through the EBS direct API (never deleted).
    Snapshot(SnapshotArguments),
    /// AMIs: every EBS snapshot of each image.
    Ami(AmiArguments),
    /// EC2 instances by id: snapshot, scan, delete the snapshots.
    Instance(InstanceArguments),
    /// EC2 instances matching filters (all instances when none).
    Instances(InstancesArguments),
}

/// `scan snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArguments {
    /// Snapshot ids: `snap-…` (looked for in every --region), `REGION:snap-…` or
    /// `arn:aws:ec2:REGION::snapshot/snap-…`.
    #[arg(required = true, value_name = "SNAPSHOT_ID")]
    pub snapshot_ids: Vec<String>,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsArguments,
    /// Report options.
    #[command(flatten)]
    pub output: OutputArguments,
    /// Advisory matching options.
    #[command(flatten)]
    pub matching: MatchArguments,
}

/// `scan ami`.
#[derive(Debug, Args)]
pub struct AmiArguments {
    /// Image ids: `ami-…` (looked for in every --region), `REGION:ami-…` or
    /// `arn:aws:ec2:REGION::image/ami-…`.
    #[arg(required = true, value_name = "AMI_ID")]
    pub image_ids: Vec<String>,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsArguments,
    /// Report options.
    #[command(flatten)]
    pub output: OutputArguments,
    /// Advisory matching options.
    #[command(flatten)]
    pub matching: MatchArguments,
}

/// `scan instance`.
#[derive(Debug, Args)]
pub struct InstanceArguments {
    /// Instance ids (`i-…`).
    #[arg(required = true, value_name = "INSTANCE_ID")]
    pub instance_ids: Vec<String>,
    /// Instance options.
    #[command(flatten)]
    pub instance: InstanceScanArguments,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsArguments,
    /// Report options.
    #[command(flatten)]
    pub output: OutputArguments,
    /// Advisory matching options.
    #[command(flatten)]
    pub matching: MatchArguments,
}

/// `scan instances`.
#[derive(Debug, Args)]
pub struct InstancesArguments {
    /// EC2 filter `NAME=VALUE[,VALUE…]`, e.g. `tag:Team=web`, `tag-key=Scan`; repeatable.
    #[arg(long = "filter", value_name = "NAME=VALUES")]
    pub filters: Vec<String>,
    /// Do not sweep stale snapshots of killed runs first.
    #[arg(long)]
    pub no_sweep: bool,
    /// Age past which the first sweep deletes our tagged snapshots.
    #[arg(long, value_name = "AGE", default_value = "6h")]
    pub sweep_older_than: String,
    /// Instance options.
    #[command(flatten)]
    pub instance: InstanceScanArguments,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsArguments,
    /// Report options.
    #[command(flatten)]
    pub output: OutputArguments,
    /// Advisory matching options.
    #[command(flatten)]
    pub matching: MatchArguments,
}

/// Options of instance scans.
#[derive(Debug, Args)]
pub struct InstanceScanArguments {
    /// Tag key that excludes an instance (or a KMS key's volumes); repeatable; replaces
    /// the defaults `InspectorEc2Exclusion` and `snapscan:exclude`.
    #[arg(long = "exclude-tag-key", value_name = "KEY")]
    pub exclude_tag_keys: Vec<String>,
    /// KMS key (id or ARN) whose volumes are never snapshotted; repeatable.
    #[arg(long = "exclude-kms-key", value_name = "KEY")]
    pub exclude_kms_keys: Vec<String>,
    /// Skip instances with more volumes than this.
    #[arg(long, default_value_t = 8)]
    pub max_volumes: usize,
    /// Skip instances whose volumes add up to more GiB than this.
    #[arg(long, default_value_t = 1200)]
    pub max_total_gib: u64,
    /// Give up on snapshots not completed after this long (e.g. 30m).
    #[arg(long, value_name = "AGE", default_value = "30m")]
    pub snapshot_timeout: String,
    /// Seconds between snapshot state polls.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub poll_interval: f64,
}

/// How to reach AWS and read snapshots.
#[derive(Debug, Args)]
pub struct AwsArguments {
    /// Named AWS profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region; repeatable (instances, and snapshots and AMIs named without a region, are
    /// looked for in each). Default: the AWS chain's.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Endpoint override (emulators, VPC endpoints); `AWS_ENDPOINT_URL` works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Role to assume (cross-account).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Use the SDK's adaptive retry mode (client-side rate limiting).
    #[arg(long)]
    pub adaptive_retries: bool,
    /// Block fetches in flight per snapshot.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Snapshots read at once.
    #[arg(long, default_value_t = 4)]
    pub volume_concurrency: usize,
    /// 512 KiB blocks cached per snapshot.
    #[arg(long, default_value_t = 256)]
    pub cache_blocks: usize,
    /// Tag key put on the snapshots we create (its value is the scan id); `cleanup` deletes
    /// only snapshots carrying it. The IAM policy's conditions name it: change both together.
    /// Default: snapscan:scan-id.
    #[arg(long, value_name = "KEY")]
    pub tag_key: Option<String>,
}

/// `cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArguments {
    /// Delete our tagged snapshots older than this (e.g. 6h, 30m, 0).
    #[arg(long, value_name = "AGE", default_value = "6h")]
    pub older_than: String,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsArguments,
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
    /// Advisory matching options.
    #[command(flatten)]
    pub matching: MatchArguments,
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
    /// Report the package inventory only, without findings.
    #[arg(long)]
    pub packages_only: bool,
    /// Also report language packages an OS package installed (by default they fold into
    /// the OS package, whose `found_by` then reads e.g. `dpkg+python`), and open the
    /// executables of native distro packages for embedded Go and Rust modules too.
    #[arg(long)]
    pub all_packages: bool,
    /// Do not walk this directory (an absolute path on each scanned filesystem); repeatable.
    #[arg(long = "skip-dir", value_name = "PATH")]
    pub skip_directories: Vec<String>,
    /// Walk the documentation trees skipped by default too (`/usr/share/doc`,
    /// `/usr/share/man`, `/usr/share/locale`, `/usr/include`, kernel modules, …; docs/json-output.md lists them).
    #[arg(long)]
    pub no_default_skips: bool,
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
