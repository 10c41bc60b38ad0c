//! Reading advisory feeds from disk: directories (walked recursively), `.zip` archives
//! (OSV's per-ecosystem `all.zip`), and single files. The format of each file is decided
//! from its name and content: `updateinfo.xml(.gz)` is ALAS, a JSON/YAML document with
//! `packages` and `distroversion` is an Alpine secdb, anything with an `id` is OSV.
//! A file that cannot be read as any of them is counted as rejected with the reason; an
//! unreadable archive or directory is an error for the whole source, so a bundle is
//! never built silently from half a feed.

use super::{Advisory, AdvisoryError, ImportCounts, alas, alpine, osv};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest feed file read (the biggest OSV file is a few MiB).
const FILE_LIMIT: u64 = 64 * 1024 * 1024;
/// Largest total of decompressed bytes read from one archive.
const ARCHIVE_LIMIT: u64 = 4 * 1024 * 1024 * 1024;
/// Deepest directory walked.
const DEPTH_LIMIT: usize = 32;

/// Everything read from one `--from` path.
#[derive(Debug, Default)]
pub struct Imported {
    /// Validated advisories.
    pub advisories: Vec<Advisory>,
    /// What was kept and dropped.
    pub counts: ImportCounts,
}

/// Read every feed file under `path` (a directory, a `.zip`, or one file), naming the
/// records' source `source`.
pub fn import_path(path: &Path, source: &str) -> Result<Imported, AdvisoryError> {
    let mut imported = Imported::default();
    let metadata = std::fs::metadata(path).map_err(|error| io_error(path, error))?;
    if metadata.is_dir() {
        walk_directory(path, source, 0, &mut imported)?;
    } else {
        import_file(path, source, &mut imported)?;
    }
    Ok(imported)
}

fn io_error(path: &Path, source: std::io::Error) -> AdvisoryError {
    AdvisoryError::Io { path: path.display().to_string(), source }
}

fn walk_directory(directory: &Path, source: &str, depth: usize, imported: &mut Imported) -> Result<(), AdvisoryError> {
    if depth > DEPTH_LIMIT {
        return Err(AdvisoryError::Format {
            path: directory.display().to_string(),
            reason: format!("nested deeper than {DEPTH_LIMIT} directories"),
        });
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(|error| io_error(directory, error))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .map_err(|error| io_error(directory, error))?;
    // Sorted so builds are reproducible.
    entries.sort();
    for entry in entries {
        // symlink_metadata: a symlink loop must not send the walk in circles.
        let metadata = std::fs::symlink_metadata(&entry).map_err(|error| io_error(&entry, error))?;
        if metadata.is_dir() {
            walk_directory(&entry, source, depth + 1, imported)?;
        } else if metadata.is_file() && is_feed_name(&entry) {
            import_file(&entry, source, imported)?;
        }
    }
    Ok(())
}

/// Names we read inside directories; other files (READMEs, scripts) are skipped.
fn is_feed_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("").to_ascii_lowercase();
    [".json", ".yaml", ".yml", ".zip", ".xml", ".xml.gz"].iter().any(|suffix| name.ends_with(suffix))
}

fn import_file(path: &Path, source: &str, imported: &mut Imported) -> Result<(), AdvisoryError> {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("").to_ascii_lowercase();
    if name.ends_with(".zip") {
        return import_zip(path, source, imported);
    }
    let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT + 1).read_to_end(&mut bytes).map_err(|error| io_error(path, error))?;
    let label = path.display().to_string();
    import_bytes(&name, &label, bytes, source, imported);
    Ok(())
}

fn import_zip(path: &Path, source: &str, imported: &mut Imported) -> Result<(), AdvisoryError> {
    let format_error = |reason: String| AdvisoryError::Format { path: path.display().to_string(), reason };
    let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|error| format_error(format!("not a readable zip archive: {error}")))?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|error| format_error(format!("entry {index}: {error}")))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().to_string();
        let label = format!("{}!{entry_name}", path.display());
        if !is_feed_name(Path::new(&entry_name)) || entry_name.ends_with(".zip") {
            continue;
        }
        let mut bytes = Vec::new();
        if let Err(error) = (&mut entry).take(FILE_LIMIT + 1).read_to_end(&mut bytes) {
            // A damaged entry in an otherwise readable archive: the feed is incomplete.
            return Err(format_error(format!("{entry_name}: {error} (truncated or corrupt archive)")));
        }
        total = total.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if total > ARCHIVE_LIMIT {
            return Err(format_error(format!("more than {ARCHIVE_LIMIT} bytes decompressed")));
        }
        import_bytes(&entry_name.to_ascii_lowercase(), &label, bytes, source, imported);
    }
    Ok(())
}

/// Decide the format of one file's bytes and convert it; problems are counted.
fn import_bytes(name: &str, label: &str, bytes: Vec<u8>, source: &str, imported: &mut Imported) {
    let counts = &mut imported.counts;
    let reject = |counts: &mut ImportCounts, reason: String| {
        counts.records += 1;
        counts.rejected.push(format!("{label}: {reason}"));
    };
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > FILE_LIMIT {
        return reject(counts, format!("larger than {FILE_LIMIT} bytes"));
    }
    let bytes = if name.ends_with(".gz") {
        let mut decompressed = Vec::new();
        match flate2::read::GzDecoder::new(bytes.as_slice()).take(FILE_LIMIT + 1).read_to_end(&mut decompressed) {
            Ok(_) if u64::try_from(decompressed.len()).unwrap_or(u64::MAX) > FILE_LIMIT => {
                return reject(counts, format!("decompresses to more than {FILE_LIMIT} bytes"));
            }
            Ok(_) => decompressed,
            Err(error) => return reject(counts, format!("gzip: {error}")),
        }
    } else {
        bytes
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return reject(counts, "not UTF-8 text".to_string());
    };
    if name.ends_with(".xml") || name.ends_with(".xml.gz") {
        imported.advisories.extend(alas::parse_document(&text, label, source, counts));
        return;
    }
    let document: Value = if name.ends_with(".yaml") || name.ends_with(".yml") {
        // The same bounded YAML reader as the lockfile catalogers (one YAML crate).
        match crate::catalog::language::parse_yaml_documents::<Value>(&text) {
            Ok(mut documents) if documents.len() == 1 => documents.remove(0),
            Ok(documents) => return reject(counts, format!("YAML: {} documents, expected one", documents.len())),
            Err(error) => return reject(counts, error),
        }
    } else {
        match serde_json::from_str(&text) {
            Ok(document) => document,
            Err(error) => return reject(counts, format!("JSON: {error}")),
        }
    };
    if alpine::looks_like_secdb(&document) {
        imported.advisories.extend(alpine::parse_document(document, label, source, counts));
    } else if osv::looks_like_osv(&document) {
        imported.advisories.extend(osv::parse_document(document, label, source, counts));
    } else {
        reject(counts, "neither an OSV record nor an Alpine secdb".to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let directory = std::env::temp_dir().join(format!("snapscan-import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory
    }

    const RECORD: &str = r#"{"id":"GHSA-1","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#;

    #[test]
    fn reads_directories_zips_and_rejects_garbage() {
        let directory = scratch("mixed");
        std::fs::create_dir_all(directory.join("nested")).unwrap();
        std::fs::write(directory.join("nested/GHSA-1.json"), RECORD).unwrap();
        std::fs::write(directory.join("garbage.json"), b"{not json").unwrap();
        std::fs::write(directory.join("empty.yaml"), b"").unwrap();
        std::fs::write(directory.join("README.md"), b"ignored").unwrap();
        let zip_path = directory.join("all.zip");
        {
            let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            writer.start_file("GHSA-2.json", options).unwrap();
            writer.write_all(RECORD.replace("GHSA-1", "GHSA-2").as_bytes()).unwrap();
            writer.finish().unwrap();
        }
        let imported = import_path(&directory, "test").unwrap();
        let mut ids: Vec<&str> = imported.advisories.iter().map(|advisory| advisory.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["GHSA-1", "GHSA-2"]);
        assert_eq!(imported.counts.rejected.len(), 2, "{:?}", imported.counts.rejected);
        assert!(imported.counts.rejected.iter().any(|reason| reason.contains("garbage.json: JSON")));

        // A truncated archive is an error for the whole source.
        let bytes = std::fs::read(&zip_path).unwrap();
        let truncated = directory.join("truncated.zip");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let error = import_path(&truncated, "test").unwrap_err().to_string();
        assert!(error.contains("truncated.zip"), "{error}");
        assert!(import_path(&directory.join("missing"), "test").is_err());
        let _ = std::fs::remove_dir_all(&directory);
    }

    /// Random bytes and randomly cut real documents, under every format name, never panic
    /// and are always accounted for.
    #[test]
    fn garbage_never_panics() {
        let mut random = crate::version::testing::Random(42);
        let seeds: [&[u8]; 3] = [
            RECORD.as_bytes(),
            b"distroversion: v3.11\npackages:\n  - pkg:\n      name: a\n      secfixes:\n        1.0-r0: [CVE-1]\n",
            b"<updates><update type=\"security\"><id>ALAS2-2018-1</id><pkglist><collection><package name=\"x\" version=\"1\" release=\"1\"/></collection></pkglist></update></updates>",
        ];
        for round in 0..600 {
            let seed = seeds[round % seeds.len()];
            let mut bytes: Vec<u8> = seed[..random.below(seed.len() + 1)].to_vec();
            for _ in 0..random.below(4) {
                if !bytes.is_empty() {
                    let index = random.below(bytes.len());
                    bytes[index] = u8::try_from(random.next() % 256).unwrap_or(0);
                }
            }
            for name in ["x.json", "x.yaml", "updateinfo.xml", "updateinfo.xml.gz"] {
                let mut imported = Imported::default();
                import_bytes(name, name, bytes.clone(), "fuzz", &mut imported);
                let counts = &imported.counts;
                assert_eq!(
                    counts.imported + counts.withdrawn + counts.rejected.len() as u64,
                    counts.records,
                    "{name}: {bytes:?}"
                );
            }
        }
    }

    #[test]
    fn reads_gzipped_updateinfo() {
        let directory = scratch("gz");
        let path = directory.join("updateinfo.xml.gz");
        let mut encoder =
            flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::default());
        encoder
            .write_all(br#"<updates><update type="security"><id>ALAS2023-2023-001</id><severity>medium</severity><pkglist><collection><package name="curl" epoch="0" version="8.0.1" release="1.amzn2023"/></collection></pkglist></update></updates>"#)
            .unwrap();
        encoder.finish().unwrap();
        let imported = import_path(&path, "alas").unwrap();
        assert_eq!(imported.advisories.len(), 1);
        assert_eq!(imported.advisories[0].affected[0].ecosystem, "Amazon Linux:2023");
        std::fs::write(directory.join("bad.xml.gz"), b"not gzip").unwrap();
        let bad = import_path(&directory.join("bad.xml.gz"), "alas").unwrap();
        assert!(bad.counts.rejected[0].contains("gzip"));
        let _ = std::fs::remove_dir_all(&directory);
    }
}
