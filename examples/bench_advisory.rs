//! Benchmark for `scripts/bench-advisory.sh`: open a bundle and match 5,000 packages
//! drawn from its index (names that have advisories, with spread-out versions: a worst
//! case), then a mix where one package in ten has advisories (closer to a real system),
//! printing open and match times. Not a test: numbers go to stdout for the report.

use snapscan::advisory::Database;
use snapscan::catalog::{Ecosystem, Evidence, Location, Package};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: bench_advisory BUNDLE [PACKAGES]");
    let count: usize = std::env::args().nth(2).and_then(|text| text.parse().ok()).unwrap_or(5000);
    let started = Instant::now();
    let database = Database::open(std::path::Path::new(&path)).expect("open bundle");
    let opened = started.elapsed();
    let mut keys: Vec<(String, String)> =
        database.package_keys().map(|(ecosystem, name)| (ecosystem.to_string(), name.to_string())).collect();
    keys.sort();
    let mut packages = Vec::with_capacity(count);
    for (index, (ecosystem, name)) in keys.iter().cycle().enumerate().take(count * 4) {
        if packages.len() == count {
            break;
        }
        let (kind, version, distro) = match ecosystem.split(':').next().unwrap_or("") {
            "PyPI" => (Ecosystem::Pypi, format!("{}.{}.{}", index % 5, index % 13, index % 7), None),
            "Go" => (Ecosystem::Golang, format!("v0.{}.{}", index % 17, index % 5), None),
            "crates.io" => (Ecosystem::Cargo, format!("0.{}.{}", index % 11, index % 9), None),
            "npm" => (Ecosystem::Npm, format!("{}.{}.0", index % 5, index % 21), None),
            "Maven" => (Ecosystem::Maven, format!("2.{}.{}", index % 15, index % 4), None),
            "Alpine" => {
                let release = ecosystem.trim_start_matches("Alpine:v");
                (
                    Ecosystem::Apk,
                    format!("1.{}.{}-r{}", index % 9, index % 4, index % 3),
                    Some(format!("alpine-{release}")),
                )
            }
            _ => continue,
        };
        packages.push(Package {
            name: name.clone(),
            version,
            ecosystem: kind,
            purl: String::new(),
            arch: None,
            source_name: None,
            source_version: None,
            epoch: None,
            release: None,
            status: None,
            distro,
            locations: vec![Location { volume: "bench".to_string(), partition: None, path: "/".to_string() }],
            found_by: "bench".to_string(),
            evidence: Evidence::Installed,
        });
    }
    let started = Instant::now();
    let matched = snapscan::matcher::match_packages(&packages, &database);
    let matching = started.elapsed();
    let started = Instant::now();
    let again = snapscan::matcher::match_packages(&packages, &database);
    let warm = started.elapsed();
    println!("bundle open (index load): {:.1} ms ({} package keys)", opened.as_secs_f64() * 1000.0, keys.len());
    println!(
        "match {} packages: {:.1} ms cold, {:.1} ms warm ({} findings, {} issues)",
        packages.len(),
        matching.as_secs_f64() * 1000.0,
        warm.as_secs_f64() * 1000.0,
        matched.findings.len(),
        matched.issues.len()
    );
    println!("open + match (cold): {:.1} ms", (opened + matching).as_secs_f64() * 1000.0);
    assert_eq!(matched.findings.len(), again.findings.len());

    // A fresh handle (cold cache) and a realistic mix: nine in ten packages have no advisories.
    let started = Instant::now();
    let database = Database::open(std::path::Path::new(&path)).expect("open bundle");
    let mixed: Vec<Package> = packages
        .iter()
        .enumerate()
        .map(|(index, package)| {
            let mut package = package.clone();
            if index % 10 != 0 {
                package.name = format!("{}-without-advisories-{index}", package.name);
            }
            package
        })
        .collect();
    let matched = snapscan::matcher::match_packages(&mixed, &database);
    println!(
        "open + match {} packages, one in ten with advisories (cold): {:.1} ms ({} findings)",
        mixed.len(),
        started.elapsed().as_secs_f64() * 1000.0,
        matched.findings.len()
    );
}
