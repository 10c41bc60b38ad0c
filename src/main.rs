//! The `snapscan` binary: parse, run, and turn the outcome into an exit code.
//! Exit codes: 0 clean, 2 error (a target could not be read, bad arguments).

use anyhow::Context;
use clap::Parser;
use snapscan::cli::Cli;
use snapscan::settings::{Settings, Verbosity};
use snapscan::{report, scan};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("snapscan: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let settings = Settings::from_cli(Cli::parse())?;
    init_logging(settings.verbosity);
    if let Some(cleanup) = &settings.cleanup {
        scan::cleanup(&settings, cleanup)?;
        return Ok(ExitCode::SUCCESS);
    }
    let result = scan::run(&settings);
    match &settings.output {
        Some(path) => {
            report::write_file(&result, settings.format, path).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match report::write(&result, settings.format, &mut lock) {
                // A closed pipe (`| head`) is the reader's choice, not our error.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("writing the report")?,
            }
        }
    }
    let failed = result.targets.iter().any(|target| target.error.is_some());
    Ok(if failed { ExitCode::from(2) } else { ExitCode::SUCCESS })
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
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
