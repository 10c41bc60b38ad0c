//! The configuration file (`snapscan.toml`): defaults for what a scheduled run would
//! otherwise repeat on every command line. Flags always win; the file only fills in what
//! the command line left out (the merge is `Settings::from_command_line`).
//!
//! Which file: `--config PATH` (it must exist), else `$SNAPSCAN_CONFIG` (it must exist
//! too: it was named on purpose), else `./snapscan.toml`, else
//! `$XDG_CONFIG_HOME/snapscan/config.toml` (`~/.config/snapscan/config.toml`); none at all
//! is fine. The file is parsed strictly: an unknown key is an error naming the key and the
//! file (a misspelt `fail_on` silently ignored would let a cron job pass), and every value
//! is checked here with the parser the matching flag uses, so the error names the key.
//! The documented example is `docs/config.md`.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Name of the file looked for in the working directory.
pub const LOCAL_FILE: &str = "snapscan.toml";
/// Environment variable naming the file.
pub const ENVIRONMENT_VARIABLE: &str = "SNAPSCAN_CONFIG";

/// The whole file. Every key is optional; see `docs/config.md`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `--format`: one or more of table, json, cyclonedx, spdx, sarif, csv, asff.
    pub format: Option<Vec<String>>,
    /// `--output-dir`.
    pub output_dir: Option<PathBuf>,
    /// `--db`.
    pub db: Option<PathBuf>,
    /// `--fail-on`.
    pub fail_on: Option<String>,
    /// `--ignore-unfixed`.
    pub ignore_unfixed: Option<bool>,
    /// `--max-db-age`.
    pub max_db_age: Option<String>,
    /// `--ignore-file`: the suppression rules (a cron job runs from anywhere, so the
    /// default `./.snapscan-ignore.yaml` is rarely where they are).
    pub ignore_file: Option<PathBuf>,
    /// `--ubuntu-pro`.
    pub ubuntu_pro: Option<bool>,
    /// `--all-packages`.
    pub all_packages: Option<bool>,
    /// `--skip-dir`, each.
    pub skip_directories: Option<Vec<String>>,
    /// `false` is `--no-default-skips`.
    pub default_skips: Option<bool>,
    /// `false` is `--no-progress`.
    pub progress: Option<bool>,
    /// AWS access and EBS reads.
    #[serde(default)]
    pub aws: AwsSection,
    /// Instance scans.
    #[serde(default)]
    pub instances: InstancesSection,
}

/// `[aws]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--region`, each.
    pub regions: Option<Vec<String>>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// `--role-arn`.
    pub role_arn: Option<String>,
    /// `--tag-key`: the key on the snapshots we create and sweep.
    pub tag_key: Option<String>,
    /// `--adaptive-retries`.
    pub adaptive_retries: Option<bool>,
    /// `--concurrency`: block fetches in flight per snapshot.
    pub concurrency: Option<usize>,
    /// `--volume-concurrency`: snapshots (volumes) read at once.
    pub volume_concurrency: Option<usize>,
    /// `--cache-blocks`.
    pub cache_blocks: Option<usize>,
}

/// `[instances]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstancesSection {
    /// `--filter` for `scan instances`, each (`tag:Team=web`, `tag-key=Scan`).
    pub filters: Option<Vec<String>>,
    /// `--exclude-tag-key`, each.
    pub exclude_tag_keys: Option<Vec<String>>,
    /// `--exclude-kms-key`, each.
    pub exclude_kms_keys: Option<Vec<String>>,
    /// `--max-volumes`.
    pub max_volumes: Option<usize>,
    /// `--max-total-gib`.
    pub max_total_gib: Option<u64>,
    /// `--snapshot-timeout`.
    pub snapshot_timeout: Option<String>,
    /// `--poll-interval` in seconds.
    pub poll_interval: Option<f64>,
    /// `--sweep-older-than`.
    pub sweep_older_than: Option<String>,
}

/// A configuration file that was found and read.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// Where it was.
    pub path: PathBuf,
    /// What it said.
    pub file: ConfigFile,
}

/// Find and read the configuration file; `Ok(None)` when there is none.
pub fn load(named: Option<&Path>) -> anyhow::Result<Option<Loaded>> {
    let environment = std::env::var_os(ENVIRONMENT_VARIABLE).filter(|value| !value.is_empty()).map(PathBuf::from);
    let (path, must_exist) = match (named, environment) {
        (Some(path), _) => (path.to_path_buf(), true),
        (None, Some(path)) => (path, true),
        (None, None) => {
            match [Some(PathBuf::from(LOCAL_FILE)), user_file()].into_iter().flatten().find(|path| path.exists()) {
                Some(path) => (path, false),
                None => return Ok(None),
            }
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if must_exist || error.kind() != std::io::ErrorKind::NotFound => {
            anyhow::bail!("cannot read configuration file {}: {error}", path.display())
        }
        Err(_) => return Ok(None),
    };
    let file = parse(&text).map_err(|message| anyhow::anyhow!("configuration file {}: {message}", path.display()))?;
    Ok(Some(Loaded { path, file }))
}

/// `$XDG_CONFIG_HOME/snapscan/config.toml`, else `~/.config/snapscan/config.toml`.
fn user_file() -> Option<PathBuf> {
    Some(crate::settings::user_directory("XDG_CONFIG_HOME", ".config")?.join("snapscan").join("config.toml"))
}

/// Parse and check the file's text. Errors name the key.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    // toml's message names the key (`unknown field `fail_onn`, expected one of …`) and
    // shows the line.
    let file: ConfigFile = toml::from_str(text).map_err(|error| error.to_string().trim_end().to_string())?;
    let checked = |key: &str, result: Result<(), String>| result.map_err(|message| format!("{key}: {message}"));
    for format in file.format.iter().flatten() {
        checked("format", value_of::<crate::cli::FormatArgument>(format).map(drop))?;
    }
    if let Some(fail_on) = &file.fail_on {
        checked("fail_on", value_of::<crate::cli::SeverityArgument>(fail_on).map(drop))?;
    }
    if let Some(age) = &file.max_db_age {
        checked("max_db_age", crate::settings::parse_duration(age).map(drop).map_err(|error| error.to_string()))?;
    }
    let instances = &file.instances;
    for (key, age) in [
        ("instances.snapshot_timeout", &instances.snapshot_timeout),
        ("instances.sweep_older_than", &instances.sweep_older_than),
    ] {
        if let Some(age) = age {
            checked(key, crate::aws::cleanup::parse_age(age).map(drop))?;
        }
    }
    for filter in instances.filters.iter().flatten() {
        checked(
            "instances.filters",
            crate::settings::parse_filter(filter).map(drop).map_err(|error| error.to_string()),
        )?;
    }
    if let Some(seconds) = instances.poll_interval {
        checked(
            "instances.poll_interval",
            crate::settings::check_poll_interval(seconds).map_err(|error| error.to_string()),
        )?;
    }
    let aws = &file.aws;
    if let Some(key) = &aws.tag_key {
        checked(
            "aws.tag_key",
            crate::settings::check_tag_key(key.clone()).map(drop).map_err(|error| error.to_string()),
        )?;
    }
    for (key, value) in [
        ("aws.concurrency", aws.concurrency),
        ("aws.volume_concurrency", aws.volume_concurrency),
        ("aws.cache_blocks", aws.cache_blocks),
    ] {
        if value == Some(0) {
            checked(key, Err("must be at least 1".to_string()))?;
        }
    }
    Ok(file)
}

/// A clap value (`json`, `high`) from the file, with clap's list of what is possible.
pub fn value_of<T: clap::ValueEnum>(text: &str) -> Result<T, String> {
    T::from_str(text, false).map_err(|_| {
        let possible: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|variant| variant.to_possible_value().map(|value| value.get_name().to_string()))
            .collect();
        format!("{text:?} is not one of {}", possible.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let file = parse(
            r#"
            format = ["json", "sarif"]
            output_dir = "/var/lib/snapscan"
            db = "/var/cache/snapscan/advisories.db"
            fail_on = "high"
            ignore_unfixed = true
            max_db_age = "7d"
            ignore_file = "/etc/snapscan/ignore.yaml"
            ubuntu_pro = true
            all_packages = false
            skip_directories = ["/var/cache"]
            default_skips = false
            progress = false
            [aws]
            profile = "scanner"
            regions = ["eu-west-1", "us-east-1"]
            endpoint_url = "http://127.0.0.1:5000"
            role_arn = "arn:aws:iam::123456789012:role/snapscan"
            tag_key = "team:snapscan-scan-id"
            adaptive_retries = true
            concurrency = 64
            volume_concurrency = 2
            cache_blocks = 512
            [instances]
            filters = ["tag:Team=web"]
            exclude_tag_keys = ["DoNotScan"]
            exclude_kms_keys = ["alias/secret"]
            max_volumes = 4
            max_total_gib = 500
            snapshot_timeout = "45m"
            poll_interval = 2.5
            sweep_older_than = "12h"
            "#,
        )
        .expect("parses");
        assert_eq!(file.aws.regions, Some(vec!["eu-west-1".to_string(), "us-east-1".to_string()]));
        assert_eq!(file.aws.concurrency, Some(64));
        assert_eq!(file.skip_directories, Some(vec!["/var/cache".to_string()]));
        assert_eq!(file.default_skips, Some(false));
        assert_eq!(file.instances.poll_interval, Some(2.5));
        assert_eq!(parse("").expect("empty"), ConfigFile::default());
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("fail_onn = \"high\"", "fail_onn"),
            ("[aws]\nregion = \"eu-west-1\"", "region"),
            ("fail_on = \"severe\"", "fail_on"),
            ("format = [\"pdf\"]", "format"),
            ("max_db_age = \"7 days\"", "max_db_age"),
            ("[aws]\nconcurrency = 0", "aws.concurrency"),
            ("[aws]\nconcurrency = -1", "concurrency"),
            ("[instances]\nfilters = [\"tag:Team\"]", "instances.filters"),
            ("[instances]\nsnapshot_timeout = \"soon\"", "instances.snapshot_timeout"),
            ("[instances]\npoll_interval = 0.0", "instances.poll_interval"),
            ("ignore_unfixed = \"yes\"", "ignore_unfixed"),
            ("[aws]\ntag_key = \"aws:reserved\"", "aws.tag_key"),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(key), "{text:?} gave {error:?}");
        }
    }
}
