//! The `snapscan` binary: parse, run, and turn the outcome into an exit code.
//! Exit codes (the contract is in `snapscan::outcome`): 0 clean, 1 findings at or above
//! `--fail-on`, 2 error (bad arguments, an unusable `--db`, nothing scanned), 3 partial
//! (some targets could not be scanned).

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use snapscan::cli::{Cli, Command};
use snapscan::report::output_directory::OutputDirectory;
use snapscan::settings::{DatabaseAction, Output, Settings, Verbosity};
use snapscan::{db, outcome, report, scan};
use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("snapscan: error: {error:#}");
            ExitCode::from(outcome::ERROR)
        }
    };
    // A signal stopped an AWS run: it ends with the signal's code (130/143) once the report
    // of what finished is written.
    snapscan::aws::ledger::interrupted_exit_code().map_or(code, ExitCode::from)
}

fn run() -> anyhow::Result<ExitCode> {
    // Parsed in two steps so the settings can tell flags given from clap's defaults: only
    // the former outrank the configuration file.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // Help for shells and man: generated from the clap definitions, so never out of date.
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "snapscan", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    // `db` commands take the bundle path from the file too, so a cron job's `db update`
    // refreshes the bundle its scans read.
    let configured_database = || -> anyhow::Result<Option<std::path::PathBuf>> {
        Ok(snapscan::config::load(cli.config.as_deref())?.and_then(|loaded| loaded.file.db))
    };
    if let Some(action) = DatabaseAction::from_cli(&cli, configured_database)? {
        init_logging(Verbosity::from_flags(cli.quiet, cli.verbose));
        db::run(&action, &mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::from_command_line(cli, &matches)?;
    snapscan::progress::start(settings.progress);
    init_logging(settings.verbosity);
    if let Some(cleanup) = &settings.cleanup {
        scan::cleanup(&settings, cleanup)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Locked before scanning, so an overlapping cron run stops at once instead of scanning.
    let directory = match &settings.output {
        Output::Directory(path) => Some(OutputDirectory::lock(path)?),
        _ => None,
    };
    // An inventory needs no advisories: no bundle is opened, none is missed.
    let database = if settings.packages_only { None } else { scan::open_database(&settings.matching)? };
    let result = scan::run(&settings, database.as_ref());
    let exit_code = outcome::exit_code(&result, settings.matching.fail_on);
    let reported = if settings.packages_only { report::inventory_only(result) } else { result };
    match (&settings.output, directory) {
        (_, Some(directory)) => {
            directory.write(&reported, &settings.formats, report::common::generated_at())?;
        }
        // Settings allow a single format here; several need --output-dir.
        (Output::File(path), None) => {
            for &format in &settings.formats {
                report::write_file(&reported, format, path).with_context(|| format!("writing {}", path.display()))?
            }
        }
        (_, None) => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            for &format in &settings.formats {
                match report::write(&reported, format, &mut lock) {
                    // A closed pipe (`| head`) is the reader's choice, not our error.
                    Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => other.context("writing the report")?,
                }
            }
        }
    }
    Ok(ExitCode::from(exit_code))
}

fn init_logging(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "warn",
        Verbosity::Verbose => "info",
        Verbosity::Debug => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNAPSCAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("snapscan={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Through the progress bars, which step aside for each line.
        .with_writer(snapscan::progress::LogWriters)
        .with_target(false)
        .without_time()
        // Colour only for a person at a terminal: cron mails and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .init();
}
