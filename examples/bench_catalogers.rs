//! What each cataloger adds to a scan: the image is scanned once with no cataloger (the
//! bare walk), once with each cataloger alone and once with all of them; each line prints
//! the median wall time of several runs, bytes read from the image, files opened and
//! packages found. Run by `scripts/bench-lang.sh` on a release build, never in tests.
//!
//! Usage: `bench_catalogers IMAGE [RUNS]`.

use snapscan::catalog::{self, Cataloger};
use snapscan::scan;
use snapscan::source::{CachedSource, FileSource, ReadAt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The page cache `scan::run` puts under every local image (64 MiB), so the numbers match a
/// user's scan.
const PAGE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

struct Measurement {
    elapsed: Duration,
    bytes_read: u64,
    files_read: u64,
    packages: usize,
    issues: usize,
}

fn measure(image: &Path, catalogers: &[Box<dyn Cataloger>]) -> Result<Measurement, String> {
    let source = FileSource::open(image).map_err(|error| format!("{}: {error}", image.display()))?;
    let counters = source.counters();
    let source: Arc<dyn ReadAt> = Arc::new(CachedSource::new(Arc::new(source), PAGE_CACHE_BYTES));
    let started = Instant::now();
    let scanned = scan::scan_volume(source, "bench", catalogers, scan::VolumeOptions::default())
        .map_err(|error| error.to_string())?;
    Ok(Measurement {
        elapsed: started.elapsed(),
        bytes_read: counters.bytes_read(),
        files_read: scanned.files_read,
        packages: scanned.packages.len(),
        issues: scanned.issues.len(),
    })
}

fn main() -> Result<(), String> {
    let mut arguments = std::env::args().skip(1);
    let image = PathBuf::from(arguments.next().ok_or("usage: bench_catalogers IMAGE [RUNS]")?);
    let runs: usize = arguments.next().map_or(Ok(5), |runs| runs.parse()).map_err(|error| format!("RUNS: {error}"))?;
    let names: Vec<&'static str> = catalog::all().iter().map(|cataloger| cataloger.name()).collect();
    let mut subsets: Vec<(String, Vec<Box<dyn Cataloger>>)> = vec![("(walk only)".to_string(), Vec::new())];
    for name in &names {
        let alone = catalog::all().into_iter().filter(|cataloger| cataloger.name() == *name).collect();
        subsets.push(((*name).to_string(), alone));
    }
    subsets.push(("(all)".to_string(), catalog::all()));
    println!(
        "{:<14} {:>10} {:>12} {:>11} {:>9} {:>7}",
        "catalogers", "median ms", "bytes read", "files read", "packages", "issues"
    );
    for (label, catalogers) in &subsets {
        // One warm-up run so every line is measured with a warm page cache.
        measure(&image, catalogers)?;
        let mut measurements = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            measurements.push(measure(&image, catalogers)?);
        }
        measurements.sort_by_key(|measurement| measurement.elapsed);
        let median = &measurements[measurements.len() / 2];
        println!(
            "{:<14} {:>10.1} {:>12} {:>11} {:>9} {:>7}",
            label,
            median.elapsed.as_secs_f64() * 1000.0,
            median.bytes_read,
            median.files_read,
            median.packages,
            median.issues
        );
    }
    Ok(())
}
