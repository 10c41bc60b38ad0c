//! The Amazon-Linux-2023-like disk with an XFS root (as AL2023 AMIs ship) lists exactly the
//! packages of the same root on ext4, which `tests/os_packages.rs` checks against `rpm -qa`.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use snapscan::catalog::{self, Package};
use snapscan::scan::{VolumeOptions, VolumeScan, scan_volume};
use snapscan::source::{FileSource, ReadAt};
use std::sync::Arc;

fn scan(relative: &str) -> VolumeScan {
    let image = test_fixtures::unpacked(relative);
    let source: Arc<dyn ReadAt> = Arc::new(FileSource::open(&image).expect("open image"));
    scan_volume(source, "disk", &catalog::all(), VolumeOptions::default()).expect("scan")
}

/// Packages without their locations' partition numbers, sorted by purl.
fn comparable(scan: VolumeScan) -> Vec<Package> {
    let mut packages: Vec<Package> = scan
        .packages
        .into_iter()
        .map(|mut package| {
            package.locations.iter_mut().for_each(|location| location.partition = None);
            package
        })
        .collect();
    packages.sort_by(|left, right| left.purl.cmp(&right.purl));
    packages
}

#[test]
fn al2023_on_xfs_lists_what_al2023_on_ext4_lists() {
    let xfs = scan("fixtures/xfs/al2023-xfs-gpt.img.zst");
    assert!(xfs.issues.is_empty(), "{:?}", xfs.issues);
    let root = xfs.volume.partitions.iter().find(|partition| partition.number == Some(2)).expect("root partition");
    assert_eq!(root.filesystem.as_ref().map(|filesystem| filesystem.kind.as_str()), Some("xfs"));
    let distro = root.distro.as_ref().expect("distro");
    assert_eq!((distro.id.as_str(), distro.version_id.as_deref()), ("amzn", Some("2023")));
    let ext4 = scan("fixtures/rpm/al2023-gpt.img.zst");
    let (xfs_packages, ext4_packages) = (comparable(xfs), comparable(ext4));
    assert!(xfs_packages.len() > 5, "{}", xfs_packages.len());
    assert!(xfs_packages.iter().all(|package| package.found_by == "rpm"));
    assert_eq!(xfs_packages, ext4_packages);
}
