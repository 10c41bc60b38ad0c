//! The configuration file as users meet it: found in each of its places, its defaults
//! shaping the report and the exit code, flags winning over it, and mistakes in it (an
//! unknown key, a bad value, a `--config` that does not exist) stopping the run with exit
//! 2 and a message naming the key and the file. Every run gets its own working directory
//! and an empty home, so no file of the machine's user takes part.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Reports carry their generation time; fixing it keeps them comparable.
const FIXED_TIME: &str = "1796189619";

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_image() -> String {
    repository_root().join("fixtures/demo/debian12.img").display().to_string()
}

fn demo_bundle() -> String {
    repository_root().join("fixtures/demo/advisories.db").display().to_string()
}

/// A fresh directory holding `work/` (the working directory) and `home/`.
fn sandbox(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("snapscan-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(directory.join("work")).expect("work directory");
    std::fs::create_dir_all(directory.join("home")).expect("home directory");
    directory
}

/// Run snapscan in `sandbox/work` with `sandbox/home` as home; `environment` adds variables.
fn snapscan(sandbox: &Path, arguments: &[&str], environment: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapscan"));
    command
        .args(arguments)
        .current_dir(sandbox.join("work"))
        .env("HOME", sandbox.join("home"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SNAPSCAN_CONFIG")
        .env_remove("SNAPSCAN_LOG")
        .env("XDG_CACHE_HOME", sandbox.join("home/.cache"))
        .env("SOURCE_DATE_EPOCH", FIXED_TIME);
    for (key, value) in environment {
        command.env(key, value);
    }
    command.output().expect("run snapscan")
}

fn scan_demo(sandbox: &Path, extra: &[&str], environment: &[(&str, &Path)]) -> Output {
    let (image, bundle) = (demo_image(), demo_bundle());
    let mut arguments = vec!["scan", "image", image.as_str(), "--db", bundle.as_str()];
    arguments.extend_from_slice(extra);
    snapscan(sandbox, &arguments, environment)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("directory");
    std::fs::write(path, text).expect("write the configuration file");
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn is_json(output: &Output) -> bool {
    serde_json::from_slice::<serde_json::Value>(&output.stdout).is_ok()
}

fn is_csv(output: &Output) -> bool {
    stdout(output).starts_with("\"record\",\"severity\",\"vulnerability\"")
}

#[test]
fn the_file_in_the_working_directory_sets_the_format_and_a_flag_overrides_it() {
    let sandbox = sandbox("local");
    let without = scan_demo(&sandbox, &[], &[]);
    assert!(!is_json(&without) && !is_csv(&without), "with no file the default is the table");
    write(&sandbox.join("work/snapscan.toml"), "format = [\"json\"]\n");
    let from_file = scan_demo(&sandbox, &[], &[]);
    assert_eq!(from_file.status.code(), Some(0), "{}", stderr(&from_file));
    assert!(is_json(&from_file), "the file's format: {}", stdout(&from_file));
    let flag = scan_demo(&sandbox, &["--format", "csv"], &[]);
    assert!(is_csv(&flag), "the flag wins: {}", stdout(&flag));
    let _ = std::fs::remove_dir_all(sandbox);
}

#[test]
fn config_flag_then_environment_then_working_directory_then_user_directory() {
    let sandbox = sandbox("lookup");
    let user = sandbox.join("home/.config/snapscan/config.toml");
    write(&user, "format = [\"csv\"]\n");
    assert!(is_csv(&scan_demo(&sandbox, &[], &[])), "~/.config/snapscan/config.toml");
    let xdg = sandbox.join("xdg");
    write(&xdg.join("snapscan/config.toml"), "format = [\"json\"]\n");
    assert!(is_json(&scan_demo(&sandbox, &[], &[("XDG_CONFIG_HOME", &xdg)])), "$XDG_CONFIG_HOME first");
    write(&sandbox.join("work/snapscan.toml"), "format = [\"json\"]\n");
    assert!(is_json(&scan_demo(&sandbox, &[], &[])), "./snapscan.toml before the user's file");
    let environment = sandbox.join("environment.toml");
    write(&environment, "format = [\"csv\"]\n");
    assert!(is_csv(&scan_demo(&sandbox, &[], &[("SNAPSCAN_CONFIG", &environment)])), "$SNAPSCAN_CONFIG first");
    let named = sandbox.join("named.toml");
    write(&named, "format = [\"json\"]\n");
    let named_text = named.display().to_string();
    let output = scan_demo(&sandbox, &["--config", &named_text], &[("SNAPSCAN_CONFIG", &environment)]);
    assert!(is_json(&output), "--config before everything");
    let _ = std::fs::remove_dir_all(sandbox);
}

#[test]
fn matching_and_output_defaults_take_effect() {
    let sandbox = sandbox("defaults");
    let reports = sandbox.join("reports");
    let text = format!(
        "format = [\"json\", \"sarif\"]\noutput_dir = {:?}\nfail_on = \"critical\"\nmax_db_age = \"36500d\"\n",
        reports.display().to_string()
    );
    write(&sandbox.join("work/snapscan.toml"), &text);
    let output = scan_demo(&sandbox, &[], &[]);
    assert_eq!(output.status.code(), Some(1), "fail_on from the file: {}", stderr(&output));
    assert!(output.stdout.is_empty(), "reports went to the directory");
    for latest in ["latest.json", "latest.sarif"] {
        assert!(reports.join(latest).exists(), "{latest} in the file's output_dir");
    }
    let output = scan_demo(&sandbox, &["--fail-on", "critical", "--ignore-unfixed", "--max-db-age", "1s"], &[]);
    assert_eq!(output.status.code(), Some(2), "the flag's max-db-age wins: {}", stderr(&output));
    assert!(stderr(&output).contains("older than --max-db-age"), "{}", stderr(&output));
    let _ = std::fs::remove_dir_all(sandbox);
}

#[test]
fn mistakes_in_the_file_stop_the_run_naming_key_and_file() {
    let sandbox = sandbox("mistakes");
    let path = sandbox.join("work/snapscan.toml");
    for (text, named) in [
        ("fail_onn = \"high\"\n", "fail_onn"),
        ("[aws]\nregion = \"eu-west-1\"\n", "region"),
        ("[output]\nformat = \"json\"\n", "output"),
        ("fail_on = \"severe\"\n", "fail_on"),
        ("format = [\"pdf\"]\n", "format"),
        ("[aws]\nconcurrency = 0\n", "aws.concurrency"),
        ("[instances]\nsnapshot_timeout = \"later\"\n", "instances.snapshot_timeout"),
        ("format = \"json\n", "snapscan.toml"),
    ] {
        write(&path, text);
        let output = scan_demo(&sandbox, &[], &[]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{text:?}: {message}");
        assert!(message.contains(named), "{text:?} must name {named}: {message}");
        assert!(message.contains("snapscan.toml"), "{text:?} must name the file: {message}");
        assert!(output.stdout.is_empty(), "{text:?} scanned anyway");
    }
    let _ = std::fs::remove_dir_all(sandbox);
}

#[test]
fn a_named_file_that_does_not_exist_is_an_error() {
    let sandbox = sandbox("missing");
    let output = scan_demo(&sandbox, &["--config", "absent.toml"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("absent.toml"), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let output = snapscan(&sandbox, &["db", "info", "--config", "absent.toml"], &[]);
    assert_eq!(output.status.code(), Some(2), "db commands check a named file too");
    assert!(stderr(&output).contains("absent.toml"), "{}", stderr(&output));
    let absent = sandbox.join("absent-too.toml");
    let output = scan_demo(&sandbox, &[], &[("SNAPSCAN_CONFIG", &absent)]);
    assert_eq!(output.status.code(), Some(2), "SNAPSCAN_CONFIG naming nothing");
    assert!(stderr(&output).contains("absent-too.toml"), "{}", stderr(&output));
    let _ = std::fs::remove_dir_all(sandbox);
}

#[test]
fn the_files_suppression_rules_apply_and_the_flag_wins() {
    let sandbox = sandbox("ignore-file");
    let everything = sandbox.join("rules/everything.yaml");
    write(&everything, "rules:\n  - package: \"*\"\n    reason: accepted for this test\n");
    let nothing = sandbox.join("rules/nothing.yaml");
    write(&nothing, "rules:\n  - id: CVE-1900-0001\n    reason: matches no finding\n");
    write(
        &sandbox.join("work/snapscan.toml"),
        &format!("fail_on = \"low\"\nignore_file = {:?}\n", everything.display().to_string()),
    );
    let output = scan_demo(&sandbox, &[], &[]);
    assert_eq!(output.status.code(), Some(0), "every finding suppressed by the file's rules: {}", stderr(&output));
    let nothing_text = nothing.display().to_string();
    let output = scan_demo(&sandbox, &["--ignore-file", &nothing_text], &[]);
    assert_eq!(output.status.code(), Some(1), "--ignore-file outranks the file's: {}", stderr(&output));
    let _ = std::fs::remove_dir_all(sandbox);
}

#[test]
fn db_commands_use_the_files_bundle_path() {
    let sandbox = sandbox("db-path");
    let bundle = sandbox.join("bundles/advisories.db");
    write(&sandbox.join("work/snapscan.toml"), &format!("db = {:?}\n", bundle.display().to_string()));
    let records = repository_root().join("fixtures/advisories").display().to_string();
    let output = snapscan(&sandbox, &["db", "build", "--from", &records], &[]);
    assert_eq!(output.status.code(), Some(0), "db build: {}", stderr(&output));
    assert!(bundle.exists(), "db build wrote the file's bundle");
    let output = snapscan(&sandbox, &["db", "info"], &[]);
    assert_eq!(output.status.code(), Some(0), "db info: {}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("18"), "db info shows the built bundle");
    let elsewhere = sandbox.join("elsewhere.db").display().to_string();
    let output = snapscan(&sandbox, &["db", "info", "--db", &elsewhere], &[]);
    assert_eq!(output.status.code(), Some(2), "--db outranks the file: {}", stderr(&output));
    let _ = std::fs::remove_dir_all(sandbox);
}
