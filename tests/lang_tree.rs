//! The language catalogers through the real pipeline: the ext4 image that
//! `scripts/make-fixtures-lang.sh` built from `fixtures/trees/lang` is opened, walked and
//! cataloged as a user's scan would, and the packages must be exactly those the real tools
//! listed (`pip list`, `npm ls --all`, `cargo metadata`) plus those the hand-written files
//! declare, as recorded in `fixtures/lang-expected.tsv`.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use snapscan::catalog::{self, Evidence, Package};
use snapscan::scan;
use snapscan::source::{FileSource, ReadAt};
use std::collections::BTreeSet;
use std::sync::Arc;

const IMAGE: &str = "fixtures/images/lang.img.zst";

fn scan_image() -> scan::VolumeScan {
    let path = test_fixtures::unpacked(IMAGE);
    let source: Arc<dyn ReadAt> = Arc::new(FileSource::open(&path).expect("open the language image"));
    scan::scan_volume(source, "lang.img", &catalog::all(), snapscan::scan::VolumeOptions::default())
        .expect("scan the language image")
}

/// `evidence ecosystem name version path` for a package found at one location.
fn row(package: &Package) -> String {
    let evidence = match package.evidence {
        Evidence::Installed => "installed",
        Evidence::Declared => "declared",
    };
    let paths: Vec<&str> = package.locations.iter().map(|location| location.path.as_str()).collect();
    assert_eq!(paths.len(), 1, "one location per package before merging: {package:?}");
    format!("{evidence}\t{}\t{}\t{}\t{}", package.ecosystem.purl_type(), package.name, package.version, paths[0])
}

#[test]
fn catalogs_exactly_what_the_real_tools_listed() {
    let expected_text = std::fs::read_to_string(test_fixtures::repository_root().join("fixtures/lang-expected.tsv"))
        .expect("fixtures/lang-expected.tsv");
    let expected: BTreeSet<&str> = expected_text.lines().filter(|line| !line.is_empty()).collect();
    assert!(expected.len() > 30, "the fixture lists {} packages", expected.len());

    let scanned = scan_image();
    let found: Vec<String> = scanned.packages.iter().map(row).collect();
    let found_set: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found.len(), found_set.len(), "a package reported twice at one location");
    let missing: Vec<&&str> = expected.difference(&found_set).collect();
    let unexpected: Vec<&&str> = found_set.difference(&expected).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "missing: {missing:#?}\nunexpected: {unexpected:#?}");
    assert!(scanned.issues.is_empty(), "issues: {:#?}", scanned.issues);
}

#[test]
fn purls_and_merging_across_lockfile_and_node_modules() {
    let scanned = scan_image();
    let purls: BTreeSet<&str> = scanned.packages.iter().map(|package| package.purl.as_str()).collect();
    for purl in [
        "pkg:npm/%40types/ms@0.7.34",
        "pkg:pypi/jinja2@3.1.3",
        "pkg:cargo/itoa@1.0.11",
        "pkg:gem/nokogiri@1.15.4",
        "pkg:composer/monolog/monolog@2.9.1",
        "pkg:nuget/Newtonsoft.Json@13.0.3",
    ] {
        assert!(purls.contains(purl), "{purl} not in {purls:#?}");
    }
    // The lockfile and node_modules name one package: merged, it has both locations.
    let merged = scan::merge_packages(scanned.packages);
    let ms: Vec<&Package> = merged.iter().filter(|package| package.purl == "pkg:npm/ms@2.1.3").collect();
    assert_eq!(ms.len(), 1);
    let paths: Vec<&str> = ms[0].locations.iter().map(|location| location.path.as_str()).collect();
    assert_eq!(paths, ["/srv/nodeapp/node_modules/ms/package.json", "/srv/nodeapp/package-lock.json"]);
}
