//! The one `Scan` value every report format reads. Its JSON form is the documented
//! contract (`docs/json-output.md`, `schema_version`); change both together.

use crate::catalog::{Location, Package};
use crate::distro::Distro;
use serde::Serialize;

/// Version of the JSON contract; bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The complete result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Scan {
    /// JSON contract version.
    pub schema_version: u32,
    /// The tool that made it.
    pub tool: Tool,
    /// The advisory bundle findings were matched against (`null` when none was used).
    pub advisory_database: Option<crate::advisory::DatabaseInfo>,
    /// Every target asked for, scanned or not.
    pub targets: Vec<Target>,
    /// Packages found, merged across locations.
    pub packages: Vec<Package>,
    /// Vulnerabilities matched.
    pub findings: Vec<Finding>,
    /// Non-fatal problems.
    pub issues: Vec<Issue>,
    /// Every AWS target considered (instances, AMIs, snapshots), scanned or not, and why.
    pub coverage: Vec<Coverage>,
    /// What the run cost.
    pub stats: Stats,
}

/// Name and version of snapscan.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    /// `snapscan`.
    pub name: String,
    /// Cargo package version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Self { name: "snapscan".to_string(), version: env!("CARGO_PKG_VERSION").to_string() }
    }
}

/// One thing asked for: an image file, a snapshot, an instance.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// What the user named (a path, an id).
    pub name: String,
    /// `image`, `snapshot`, `ami`, `instance`.
    pub kind: String,
    /// Disks read for it.
    pub volumes: Vec<Volume>,
    /// Why the target could not be read at all (`null` when it was scanned).
    pub error: Option<String>,
}

/// One disk.
#[derive(Clone, Debug, Serialize)]
pub struct Volume {
    /// Name used in locations (the image path, or an EBS volume id).
    pub id: String,
    /// Size in bytes.
    pub size: u64,
    /// `gpt`, `mbr`, or `none` for a bare filesystem.
    pub partition_table: String,
    /// Partitions (one, number `null`, for a bare filesystem).
    pub partitions: Vec<Partition>,
}

/// One partition and what is on it.
#[derive(Clone, Debug, Serialize)]
pub struct Partition {
    /// 1-based number in the table; `null` for a bare filesystem.
    pub number: Option<u32>,
    /// Byte offset on the volume.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Type as the table names it: a GPT type GUID's name or an MBR type byte (`0x83`).
    pub partition_type: String,
    /// GPT partition name, if any.
    pub name: Option<String>,
    /// The filesystem, when one was recognised.
    pub filesystem: Option<FilesystemInfo>,
    /// The distro on it, when one was detected.
    pub distro: Option<DistroInfo>,
}

/// A recognised filesystem.
#[derive(Clone, Debug, Serialize)]
pub struct FilesystemInfo {
    /// `ext4`, `xfs`, … or the name of a recognised but unread one (`swap`).
    #[serde(rename = "type")]
    pub kind: String,
    /// UUID.
    pub uuid: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Directories that exist and were not walked (`--skip-dir`, and the documentation
    /// trees unless `--no-default-skips`), in walk order.
    pub skipped_directories: Vec<String>,
    /// Executables that native distro packages installed (built by the distro without Go
    /// or Rust), not opened for embedded Go or Rust modules; 0 with `--all-packages`.
    pub native_package_executables: u64,
}

/// The distro fields reports show.
#[derive(Clone, Debug, Serialize)]
pub struct DistroInfo {
    /// `ID`.
    pub id: String,
    /// `VERSION_ID`.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// The vendor's end of (standard) support as an ISO date, when known.
    pub end_of_life: Option<&'static str>,
    /// Whether that date has passed; `None` when it is unknown.
    pub end_of_life_reached: Option<bool>,
}

impl DistroInfo {
    /// The report fields of `distro`, with end of life judged on `today` (an ISO date).
    pub fn on(distro: &Distro, today: &str) -> Self {
        Self {
            id: distro.id.clone(),
            version_id: distro.version_id.clone(),
            pretty_name: distro.pretty_name.clone(),
            end_of_life: distro.end_of_life(),
            end_of_life_reached: distro.end_of_life_reached(today),
        }
    }
}

impl From<&Distro> for DistroInfo {
    /// The report fields, with end of life judged on today's UTC date.
    fn from(distro: &Distro) -> Self {
        Self::on(distro, &crate::distro::today_utc())
    }
}

/// One vulnerability in one package: every advisory record naming it (a DSA and its
/// DEBIAN-CVE, a GHSA and its PYSEC) merged into one.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Primary vulnerability id (a CVE when one is known, else the first record id).
    pub id: String,
    /// Every other id of the same vulnerability (record ids and their aliases).
    pub aliases: Vec<String>,
    /// The advisory records that matched, by id.
    pub advisories: Vec<String>,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub installed_version: String,
    /// Name advisories were looked up by (the source package for Debian, normalised for PyPI).
    pub matched_name: String,
    /// Version compared (the source version for Debian, `1.22.1` for Go `go1.22.1`).
    pub matched_version: String,
    /// Advisory ecosystem matched in (`Debian:12`, `PyPI`).
    pub advisory_ecosystem: String,
    /// Package ecosystem (purl type).
    pub ecosystem: String,
    /// Package URL.
    pub purl: String,
    /// Nearest fixed version above the installed one; `null` when there is no fix yet.
    pub fixed_version: Option<String>,
    /// `none`, `low`, `medium`, `high`, `critical`, or `unknown`.
    pub severity: String,
    /// CVSS base score when computed from a vector.
    pub cvss_score: Option<f64>,
    /// The CVSS vector scored.
    pub cvss_vector: Option<String>,
    /// Where the severity came from: `cvss_v3`, `cvss_v4`, or the source's word (`ghsa`, `ubuntu`, `alas`).
    pub severity_source: Option<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Reference URLs (at most ten).
    pub references: Vec<String>,
    /// Where the package is.
    pub locations: Vec<Location>,
    /// The suppression rule that hides this finding from gating and the table; `null` when none.
    pub suppressed: Option<Suppression>,
}

/// Why a finding is suppressed: the first live rule of the suppression file that matched it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// Index of the rule in the file's `rules` list (0-based).
    pub rule: usize,
    /// The rule's reason.
    pub reason: String,
    /// The rule's expiry date (`YYYY-MM-DD`), `null` when it never expires.
    pub expires: Option<String>,
}

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was skipped; results may be incomplete.
    Warning,
    /// Something could not be read at all.
    Error,
}

/// A non-fatal problem, attached to where it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Warning or error.
    pub severity: Severity,
    /// Where, when it concerns a file; a volume-level issue has path `""`.
    pub location: Option<Location>,
    /// What went wrong, for people.
    pub message: String,
}

/// What the run read and how long it took.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Bytes read from all sources.
    pub bytes_read: u64,
    /// Read calls made on all sources.
    pub read_calls: u64,
    /// Paths the walk visited.
    pub files_visited: u64,
    /// Files opened for catalogers.
    pub files_read: u64,
    /// EBS direct API usage, when snapshots were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs: Option<EbsStats>,
}

/// What reading EBS snapshots cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EbsStats {
    /// Blocks fetched and verified.
    pub blocks_fetched: u64,
    /// Bytes of block data fetched.
    pub bytes_fetched: u64,
    /// Allocated blocks in the snapshots read.
    pub blocks_allocated: u64,
    /// `GetSnapshotBlock` calls, retries included.
    pub get_snapshot_block_calls: u64,
    /// `ListSnapshotBlocks` calls, retries included.
    pub list_snapshot_blocks_calls: u64,
    /// Calls retried.
    pub retries: u64,
    /// Blocks whose data did not match their SHA-256 checksum (then retried).
    pub checksum_failures: u64,
    /// EBS direct API cost estimate in US dollars.
    pub estimated_cost_usd: f64,
}

/// One AWS target considered, scanned or not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// Instance, AMI or snapshot id.
    pub target: String,
    /// `instance`, `ami` or `snapshot`.
    pub kind: String,
    /// Region.
    pub region: String,
    /// True when every selected volume was read.
    pub scanned: bool,
    /// Reason code when not (fully) scanned, e.g. `EXCLUDED_BY_TAG`.
    pub reason: Option<String>,
    /// Details for people.
    pub message: Option<String>,
    /// Its volumes.
    pub volumes: Vec<CoverageVolume>,
    /// When it was considered (RFC 3339, UTC).
    pub scan_time: String,
}

/// One volume of a coverage entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CoverageVolume {
    /// EBS volume id, when known.
    pub volume_id: Option<String>,
    /// Device name, when known.
    pub device: Option<String>,
    /// Size in GiB, when known.
    pub size_gib: Option<u64>,
    /// The snapshot read (for instances: the one we created, since deleted).
    pub snapshot_id: Option<String>,
    /// Whether it was read.
    pub scanned: bool,
    /// Reason code when not.
    pub reason: Option<String>,
}
