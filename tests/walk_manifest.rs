//! Every fixture image, walked through snapscan's own readers, must reproduce the manifest
//! that `scripts/make-fixtures.sh` wrote from the source trees with the host's tools.

#[path = "../src/test_fixtures.rs"]
mod test_fixtures;

use sha2::{Digest, Sha256};
use snapscan::fs::{self, FileType, path, walk};
use snapscan::source::{FileSource, ReadAt, Slice};
use snapscan::volume;
use std::sync::Arc;

fn describe(filesystem: &dyn fs::Filesystem, raw_path: &[u8], metadata: &fs::Metadata) -> Result<String, fs::FsError> {
    Ok(match metadata.file_type {
        FileType::Directory => "directory\t-\t-".to_string(),
        FileType::Symlink => {
            let target = filesystem.read_link(raw_path).expect("read_link");
            format!("symlink\t{}\t{}", target.len(), path::display(&target))
        }
        FileType::Regular => {
            let bytes = fs::read_capped(filesystem, raw_path, 64 << 20)?;
            assert_eq!(bytes.len() as u64, metadata.size);
            let digest: String = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();
            format!("file\t{}\t{digest}", metadata.size)
        }
        _ => "other\t-\t-".to_string(),
    })
}

/// ext4-view cannot read holes in block-mapped (ext2/ext3, non-extent) files: it reports
/// them as corrupt. That must stay a clear per-file error, and only for that file.
const HOLE_LIMITATION: &str = "invalid read of length 1024 from block 0";

fn walk_image(relative: &str, unreadable: &[&str]) -> Vec<String> {
    let image = test_fixtures::unpacked(relative);
    let source: Arc<dyn ReadAt> = Arc::new(FileSource::open(&image).expect("open image"));
    let layout = volume::detect(source.as_ref()).expect("layout");
    assert!(layout.problems.is_empty(), "{relative}: {:?}", layout.problems);
    let mut lines = Vec::new();
    for partition in &layout.partitions {
        let slice: Arc<dyn ReadAt> =
            Arc::new(Slice::new(Arc::clone(&source), partition.offset, partition.length).expect("slice"));
        let Some(filesystem) = fs::probe(slice).expect("probe") else { continue };
        let number = partition.number.map_or_else(|| "-".to_string(), |number| number.to_string());
        let (listed, problems) = walk::list(filesystem.as_ref());
        assert!(problems.is_empty(), "{relative}: {problems:?}");
        for (raw_path, metadata) in listed {
            if raw_path == b"/lost+found" {
                continue;
            }
            let shown = path::display(&raw_path);
            match describe(filesystem.as_ref(), &raw_path, &metadata) {
                Ok(description) => lines.push(format!("{number}\t{description}\t{shown}")),
                Err(error) => {
                    let expected = unreadable.contains(&format!("{number}\t{shown}").as_str())
                        && error.to_string().contains(HOLE_LIMITATION);
                    assert!(expected, "{relative}: {shown}: {error}");
                    lines.push(format!("{number}\tunreadable\t{shown}"));
                }
            }
        }
    }
    lines
}

fn check(name: &str, unreadable: &[&str]) {
    let manifest =
        std::fs::read_to_string(test_fixtures::repository_root().join(format!("fixtures/images/{name}.manifest")))
            .expect("manifest");
    let expected: Vec<String> = manifest
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let key = format!("{}\t{}", fields[0], fields[fields.len() - 1]);
            if unreadable.contains(&key.as_str()) {
                format!("{}\tunreadable\t{}", fields[0], fields[fields.len() - 1])
            } else {
                line.to_string()
            }
        })
        .collect();
    let actual = walk_image(&format!("fixtures/images/{name}.img.zst"), unreadable);
    let missing: Vec<&String> = expected.iter().filter(|line| !actual.contains(line)).take(5).collect();
    let extra: Vec<&String> = actual.iter().filter(|line| !expected.contains(line)).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{name}: missing {missing:?}, extra {extra:?}");
    assert_eq!(actual.len(), expected.len());
}

#[test]
fn ext2_bare() {
    check("ext2-bare", &["-\t/sparse"]);
}

#[test]
fn ext4_gpt_with_efi_and_swap() {
    check("ext4-gpt", &[]);
}

#[test]
fn ext3_ext4_ext2_in_mbr_logical_partitions() {
    check("ext3-mbr-logical", &["1\t/sparse"]);
}

#[test]
fn ext4_gpt_with_4k_sectors() {
    check("ext4-gpt-4k", &[]);
}
