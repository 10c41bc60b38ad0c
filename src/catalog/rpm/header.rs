//! The rpm header blob: the one record format all three rpm databases store.
//!
//! A blob is `il` (index entry count) and `dl` (data length), both big-endian, then `il`
//! sixteen-byte index entries `{tag, type, offset, count}`, then `dl` bytes of data. The
//! bytes come from a disk image, so the blob is checked the way rpm's own `hdrblobInit`
//! checks it before anything is read: at most 65535 tags, at most 16 MiB of data, the
//! exact length, every entry's type known, its offset inside the data and aligned for its
//! type. Values are then read lazily, each with its own bounds check, so a bad entry for a
//! tag we never read cannot fail the package.

/// Most index entries rpm accepts in one header (`hdrchkTags`).
pub const MAXIMUM_TAG_COUNT: u32 = 0xffff;
/// Most data bytes rpm accepts in one header (`hdrchkData`: 16 MiB).
pub const MAXIMUM_DATA_LENGTH: u32 = 0x00ff_ffff;
/// Most values read from one array (files of one package: real ones have up to ~100 000);
/// a 16 MiB header could otherwise claim 16 million empty strings.
pub const MAXIMUM_ARRAY_LENGTH: u32 = 1 << 20;
/// Size of the two counts that open a blob.
const PREAMBLE_LENGTH: usize = 8;
/// Size of one index entry.
const ENTRY_LENGTH: usize = 16;
/// Largest blob the limits allow (what the database readers may allocate for one record).
pub const MAXIMUM_BLOB_LENGTH: usize =
    PREAMBLE_LENGTH + ENTRY_LENGTH * MAXIMUM_TAG_COUNT as usize + MAXIMUM_DATA_LENGTH as usize;

/// Tag numbers of the values snapscan reads (rpm's `rpmtag.h`).
pub mod tag {
    /// Package name.
    pub const NAME: u32 = 1000;
    /// Upstream version.
    pub const VERSION: u32 = 1001;
    /// Distribution release.
    pub const RELEASE: u32 = 1002;
    /// Epoch (a 32-bit integer; absent means none).
    pub const EPOCH: u32 = 1003;
    /// Vendor.
    pub const VENDOR: u32 = 1011;
    /// License.
    pub const LICENSE: u32 = 1014;
    /// Architecture.
    pub const ARCH: u32 = 1022;
    /// Source RPM file name.
    pub const SOURCE_RPM: u32 = 1044;
    /// Module stream (RHEL 8+ modularity).
    pub const MODULARITY_LABEL: u32 = 5096;
    /// Full file paths (packages built before rpm 4.1).
    pub const OLD_FILE_NAMES: u32 = 1027;
    /// For each file, an index into `DIRNAMES`.
    pub const DIR_INDEXES: u32 = 1116;
    /// For each file, its last path component.
    pub const BASENAMES: u32 = 1117;
    /// Directories of the files, each ending in `/`.
    pub const DIRNAMES: u32 = 1118;
}

/// Value types of index entries (rpm's `rpmTagType`).
mod value_type {
    pub const INT16: u32 = 3;
    pub const INT32: u32 = 4;
    pub const INT64: u32 = 5;
    pub const STRING: u32 = 6;
    pub const STRING_ARRAY: u32 = 8;
    pub const I18N_STRING: u32 = 9;
    /// Highest known type (`RPM_MAX_TYPE`).
    pub const MAXIMUM: u32 = 9;
}

/// Why a header blob was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer bytes than the counts need.
    #[error("header blob is {length} bytes, shorter than the {needed} its counts need")]
    Truncated {
        /// Bytes present.
        length: usize,
        /// Bytes the counts need.
        needed: usize,
    },
    /// More bytes than the counts describe.
    #[error("header blob is {length} bytes, but its counts describe {expected}")]
    TrailingBytes {
        /// Bytes present.
        length: usize,
        /// Bytes the counts describe.
        expected: usize,
    },
    /// Zero or too many index entries.
    #[error("header has {0} index entries (rpm allows 1 to 65535)")]
    TagCount(u32),
    /// Too much data.
    #[error("header data is {0} bytes, over rpm's 16 MiB limit")]
    DataLength(u32),
    /// An index entry that rpm would refuse.
    #[error("header entry {index} (tag {tag}): {reason}")]
    BadEntry {
        /// Position in the index.
        index: usize,
        /// Its tag.
        tag: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value of the wrong type or out of bounds, found when it was read.
    #[error("tag {tag}: {reason}")]
    BadValue {
        /// The tag read.
        tag: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// A tag every package has is absent.
    #[error("header has no {0} tag")]
    Missing(&'static str),
}

/// One index entry.
#[derive(Clone, Copy, Debug)]
struct Entry {
    tag: u32,
    value_type: u32,
    offset: usize,
    count: u32,
}

/// A checked header blob; values are read on demand.
#[derive(Debug)]
pub struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(slice.try_into().ok()?))
}

/// Byte alignment rpm requires of a value type's offset.
fn alignment(value_type: u32) -> usize {
    match value_type {
        value_type::INT16 => 2,
        value_type::INT32 => 4,
        value_type::INT64 => 8,
        _ => 1,
    }
}

impl<'a> Header<'a> {
    /// Check a blob (exactly one header, nothing after it) and index it.
    pub fn parse(blob: &'a [u8]) -> Result<Self, HeaderError> {
        let truncated = |needed: usize| HeaderError::Truncated { length: blob.len(), needed };
        let tag_count = be_u32(blob, 0).ok_or_else(|| truncated(PREAMBLE_LENGTH))?;
        let data_length = be_u32(blob, 4).ok_or_else(|| truncated(PREAMBLE_LENGTH))?;
        if tag_count == 0 || tag_count > MAXIMUM_TAG_COUNT {
            return Err(HeaderError::TagCount(tag_count));
        }
        if data_length > MAXIMUM_DATA_LENGTH {
            return Err(HeaderError::DataLength(data_length));
        }
        // Both counts are capped above, so this cannot overflow.
        let index_end = PREAMBLE_LENGTH + ENTRY_LENGTH * tag_count as usize;
        let expected = index_end + data_length as usize;
        if blob.len() < expected {
            return Err(truncated(expected));
        }
        if blob.len() > expected {
            return Err(HeaderError::TrailingBytes { length: blob.len(), expected });
        }
        let data = blob.get(index_end..expected).ok_or_else(|| truncated(expected))?;
        let mut entries = Vec::with_capacity(tag_count as usize);
        for index in 0..tag_count as usize {
            let at = PREAMBLE_LENGTH + ENTRY_LENGTH * index;
            let field = |position: usize| be_u32(blob, at + 4 * position).ok_or_else(|| truncated(expected));
            let (tag, value_type, offset, count) = (field(0)?, field(1)?, field(2)?, field(3)?);
            let bad = |reason| HeaderError::BadEntry { index, tag, reason };
            if value_type > value_type::MAXIMUM {
                return Err(bad("unknown value type"));
            }
            // rpm reads the offset as a signed number: a negative one is past any data too.
            let offset = usize::try_from(offset).map_err(|_| bad("offset out of range"))?;
            if offset > data.len() {
                return Err(bad("offset out of range"));
            }
            if offset % alignment(value_type) != 0 {
                return Err(bad("offset not aligned for its type"));
            }
            if count == 0 || count > data_length.max(1) {
                return Err(bad("count out of range"));
            }
            entries.push(Entry { tag, value_type, offset, count });
        }
        Ok(Self { entries, data })
    }

    fn entry(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.tag == tag)
    }

    /// A string value (the first one of an array or a translated string); `Ok(None)` when absent.
    pub fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        let bad = |reason| HeaderError::BadValue { tag, reason };
        if !matches!(entry.value_type, value_type::STRING | value_type::STRING_ARRAY | value_type::I18N_STRING) {
            return Err(bad("not a string"));
        }
        let rest = self.data.get(entry.offset..).ok_or_else(|| bad("offset out of range"))?;
        let end = rest.iter().position(|&byte| byte == 0).ok_or_else(|| bad("string runs past the data"))?;
        let bytes = rest.get(..end).ok_or_else(|| bad("string runs past the data"))?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The first 32-bit integer of a value; `Ok(None)` when absent.
    pub fn int32(&self, tag: u32) -> Result<Option<u32>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if entry.value_type != value_type::INT32 {
            return Err(HeaderError::BadValue { tag, reason: "not a 32-bit integer" });
        }
        be_u32(self.data, entry.offset)
            .map(Some)
            .ok_or(HeaderError::BadValue { tag, reason: "integer runs past the data" })
    }

    /// Every string of a string array; empty when absent.
    pub fn string_array(&self, tag: u32) -> Result<Vec<String>, HeaderError> {
        let Some(entry) = self.entry(tag) else { return Ok(Vec::new()) };
        let bad = |reason| HeaderError::BadValue { tag, reason };
        if entry.value_type != value_type::STRING_ARRAY {
            return Err(bad("not a string array"));
        }
        if entry.count > MAXIMUM_ARRAY_LENGTH {
            return Err(bad("array longer than snapscan reads"));
        }
        let mut rest = self.data.get(entry.offset..).ok_or_else(|| bad("offset out of range"))?;
        // The count was checked against the data length, so this allocation is bounded.
        let mut strings = Vec::with_capacity(entry.count as usize);
        for _ in 0..entry.count {
            let end = rest.iter().position(|&byte| byte == 0).ok_or_else(|| bad("string runs past the data"))?;
            let (text, after) = rest.split_at(end);
            strings.push(String::from_utf8_lossy(text).into_owned());
            rest = after.get(1..).unwrap_or_default();
        }
        Ok(strings)
    }

    /// Every value of a 32-bit integer array; empty when absent.
    pub fn int32_array(&self, tag: u32) -> Result<Vec<u32>, HeaderError> {
        let Some(entry) = self.entry(tag) else { return Ok(Vec::new()) };
        if entry.value_type != value_type::INT32 {
            return Err(HeaderError::BadValue { tag, reason: "not a 32-bit integer" });
        }
        if entry.count > MAXIMUM_ARRAY_LENGTH {
            return Err(HeaderError::BadValue { tag, reason: "array longer than snapscan reads" });
        }
        let length = (entry.count as usize).saturating_mul(4);
        let bytes = self
            .data
            .get(entry.offset..entry.offset.saturating_add(length))
            .ok_or(HeaderError::BadValue { tag, reason: "integers run past the data" })?;
        Ok(bytes.chunks_exact(4).map(|chunk| u32::from_be_bytes(chunk.try_into().unwrap_or_default())).collect())
    }

    /// The paths of the files the package owns, from `DIRNAMES`, `DIRINDEXES` and
    /// `BASENAMES` (or `OLDFILENAMES` for old packages). Read only when asked for: a
    /// package's file list is most of its header.
    pub fn file_paths(&self) -> Result<Vec<String>, HeaderError> {
        let basenames = self.string_array(tag::BASENAMES)?;
        if basenames.is_empty() {
            return self.string_array(tag::OLD_FILE_NAMES);
        }
        let directories = self.string_array(tag::DIRNAMES)?;
        let indexes = self.int32_array(tag::DIR_INDEXES)?;
        if indexes.len() != basenames.len() {
            return Err(HeaderError::BadValue { tag: tag::DIR_INDEXES, reason: "not one index per file" });
        }
        basenames
            .iter()
            .zip(indexes)
            .map(|(basename, index)| {
                let directory = directories
                    .get(index as usize)
                    .ok_or(HeaderError::BadValue { tag: tag::DIR_INDEXES, reason: "index past the directories" })?;
                Ok(format!("{directory}{basename}"))
            })
            .collect()
    }
}

/// What one installed-package header says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderPackage {
    /// `NAME`.
    pub name: String,
    /// `EPOCH`, when the package has one.
    pub epoch: Option<u32>,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH` (absent for `gpg-pubkey`).
    pub arch: Option<String>,
    /// `SOURCERPM`: `openssl-3.0.8-1.amzn2023.0.3.src.rpm`.
    pub source_rpm: Option<String>,
    /// `LICENSE`.
    pub license: Option<String>,
    /// `VENDOR`.
    pub vendor: Option<String>,
    /// `MODULARITYLABEL`.
    pub modularity_label: Option<String>,
}

impl HeaderPackage {
    /// Read the package fields of a checked blob.
    pub fn from_blob(blob: &[u8]) -> Result<Self, HeaderError> {
        Self::from_header(&Header::parse(blob)?)
    }

    /// Read the package fields of a parsed header.
    pub fn from_header(header: &Header<'_>) -> Result<Self, HeaderError> {
        let required =
            |tag, name| header.string(tag)?.filter(|value| !value.is_empty()).ok_or(HeaderError::Missing(name));
        Ok(Self {
            name: required(tag::NAME, "NAME")?,
            version: required(tag::VERSION, "VERSION")?,
            release: required(tag::RELEASE, "RELEASE")?,
            epoch: header.int32(tag::EPOCH)?,
            arch: header.string(tag::ARCH)?,
            source_rpm: header.string(tag::SOURCE_RPM)?,
            license: header.string(tag::LICENSE)?,
            vendor: header.string(tag::VENDOR)?,
            modularity_label: header.string(tag::MODULARITY_LABEL)?,
        })
    }

    /// The EVR as `rpm -q` prints it: `1:3.0.8-1.amzn2023.0.3`, no epoch when it is none or 0.
    pub fn evr(&self) -> String {
        match self.epoch.filter(|&epoch| epoch != 0) {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

#[cfg(test)]
pub mod testing {
    //! Build header blobs for tests, the way rpm lays them out.

    /// A value to store under a tag.
    pub enum Value<'a> {
        /// `RPM_STRING_TYPE`.
        String(&'a str),
        /// `RPM_INT32_TYPE`, one value.
        Int32(u32),
        /// `RPM_STRING_ARRAY_TYPE`.
        Strings(&'a [&'a str]),
        /// `RPM_INT32_TYPE`, several values.
        Int32s(&'a [u32]),
    }

    /// A header blob holding `values` in order.
    pub fn blob(values: &[(u32, Value<'_>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, value) in values {
            let (value_type, bytes, count): (u32, Vec<u8>, usize) = match value {
                Value::String(text) => (6, [text.as_bytes(), &[0]].concat(), 1),
                Value::Strings(texts) => {
                    (8, texts.iter().flat_map(|text| [text.as_bytes(), &[0]].concat()).collect(), texts.len())
                }
                Value::Int32(number) => (4, number.to_be_bytes().to_vec(), 1),
                Value::Int32s(numbers) => {
                    (4, numbers.iter().flat_map(|number| number.to_be_bytes()).collect(), numbers.len())
                }
            };
            if value_type == 4 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            for field in [*tag, value_type, data.len() as u32, count as u32] {
                index.extend_from_slice(&field.to_be_bytes());
            }
            data.extend_from_slice(&bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(values.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    /// A blob for a package `name-version-release.arch`, with an optional epoch.
    pub fn package(name: &str, epoch: Option<u32>, version: &str, release: &str, arch: &str) -> Vec<u8> {
        let source = format!("{name}-{version}-{release}.src.rpm");
        let mut values = vec![
            (super::tag::NAME, Value::String(name)),
            (super::tag::VERSION, Value::String(version)),
            (super::tag::RELEASE, Value::String(release)),
            (super::tag::ARCH, Value::String(arch)),
            (super::tag::SOURCE_RPM, Value::String(&source)),
        ];
        if let Some(epoch) = epoch {
            values.push((super::tag::EPOCH, Value::Int32(epoch)));
        }
        blob(&values)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::corrupted_copies;
    use super::testing::{Value, blob, package};
    use super::*;

    #[test]
    fn reads_a_package_header() {
        let header =
            HeaderPackage::from_blob(&package("openssl-libs", Some(1), "3.0.8", "1.amzn2023.0.3", "x86_64")).unwrap();
        assert_eq!(header.name, "openssl-libs");
        assert_eq!(header.epoch, Some(1));
        assert_eq!(header.evr(), "1:3.0.8-1.amzn2023.0.3");
        assert_eq!(header.arch.as_deref(), Some("x86_64"));
        assert_eq!(header.source_rpm.as_deref(), Some("openssl-libs-3.0.8-1.amzn2023.0.3.src.rpm"));
        let plain = HeaderPackage::from_blob(&package("bash", None, "5.2.15", "1.amzn2023", "x86_64")).unwrap();
        assert_eq!(plain.evr(), "5.2.15-1.amzn2023");
        assert_eq!(plain.license, None);
    }

    #[test]
    fn refuses_empty_truncated_and_padded_blobs() {
        assert!(matches!(Header::parse(&[]), Err(HeaderError::Truncated { .. })));
        let whole = package("bash", None, "5.2", "1", "x86_64");
        for cut in [1, 8, 20, whole.len() - 1] {
            assert!(matches!(Header::parse(&whole[..cut]), Err(HeaderError::Truncated { .. })), "cut at {cut}");
        }
        let mut padded = whole.clone();
        padded.push(0);
        assert!(matches!(Header::parse(&padded), Err(HeaderError::TrailingBytes { .. })));
    }

    #[test]
    fn refuses_absurd_counts() {
        let mut blob = package("bash", None, "5.2", "1", "x86_64");
        blob[0..4].copy_from_slice(&0x0100_0000u32.to_be_bytes());
        assert_eq!(Header::parse(&blob).unwrap_err(), HeaderError::TagCount(0x0100_0000));
        blob[0..4].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(Header::parse(&blob).unwrap_err(), HeaderError::TagCount(0));
        blob[0..4].copy_from_slice(&5u32.to_be_bytes());
        blob[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Header::parse(&blob).unwrap_err(), HeaderError::DataLength(u32::MAX));
    }

    #[test]
    fn refuses_out_of_range_and_misaligned_entries() {
        let good = package("bash", Some(2), "5.2", "1", "x86_64");
        // Entry 0's offset field is at bytes 16..20.
        let mut outside = good.clone();
        outside[16..20].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
        assert!(matches!(
            Header::parse(&outside),
            Err(HeaderError::BadEntry { index: 0, reason: "offset out of range", .. })
        ));
        let mut negative = good.clone();
        negative[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(Header::parse(&negative), Err(HeaderError::BadEntry { .. })));
        let mut unknown_type = good.clone();
        unknown_type[12..16].copy_from_slice(&42u32.to_be_bytes());
        assert!(matches!(
            Header::parse(&unknown_type),
            Err(HeaderError::BadEntry { reason: "unknown value type", .. })
        ));
        // The epoch (entry 5, an INT32) moved to an odd offset.
        let mut misaligned = good.clone();
        let epoch_offset_field = 8 + 16 * 5 + 8;
        misaligned[epoch_offset_field..epoch_offset_field + 4].copy_from_slice(&1u32.to_be_bytes());
        assert!(matches!(Header::parse(&misaligned), Err(HeaderError::BadEntry { index: 5, .. })));
    }

    #[test]
    fn bad_values_are_errors_when_read() {
        // A name with no terminating NUL, at the very end of the data.
        let mut unterminated = blob(&[(tag::NAME, Value::String("bash"))]);
        unterminated.pop();
        let length = unterminated.len() as u32 - 24;
        unterminated[4..8].copy_from_slice(&length.to_be_bytes());
        let header = Header::parse(&unterminated).unwrap();
        assert!(matches!(header.string(tag::NAME), Err(HeaderError::BadValue { .. })));
        // An epoch stored as a string.
        let wrong = blob(&[(tag::EPOCH, Value::String("1"))]);
        assert!(Header::parse(&wrong).unwrap().int32(tag::EPOCH).is_err());
        // No name at all.
        let nameless = blob(&[(tag::VERSION, Value::String("1"))]);
        assert_eq!(HeaderPackage::from_blob(&nameless).unwrap_err(), HeaderError::Missing("NAME"));
    }

    #[test]
    fn file_paths_join_directories_and_basenames() {
        let header = blob(&[
            (tag::NAME, Value::String("bash")),
            (tag::BASENAMES, Value::Strings(&["bash", "sh", "bashrc"])),
            (tag::DIR_INDEXES, Value::Int32s(&[0, 0, 1])),
            (tag::DIRNAMES, Value::Strings(&["/usr/bin/", "/etc/"])),
        ]);
        assert_eq!(
            Header::parse(&header).unwrap().file_paths().unwrap(),
            ["/usr/bin/bash", "/usr/bin/sh", "/etc/bashrc"]
        );
        let old = blob(&[(tag::OLD_FILE_NAMES, Value::Strings(&["/bin/true"]))]);
        assert_eq!(Header::parse(&old).unwrap().file_paths().unwrap(), ["/bin/true"]);
        let none = blob(&[(tag::NAME, Value::String("gpg-pubkey"))]);
        assert!(Header::parse(&none).unwrap().file_paths().unwrap().is_empty());
        let bad_index = blob(&[
            (tag::BASENAMES, Value::Strings(&["bash"])),
            (tag::DIR_INDEXES, Value::Int32s(&[7])),
            (tag::DIRNAMES, Value::Strings(&["/usr/bin/"])),
        ]);
        assert!(Header::parse(&bad_index).unwrap().file_paths().is_err());
        let missing_indexes =
            blob(&[(tag::BASENAMES, Value::Strings(&["bash"])), (tag::DIRNAMES, Value::Strings(&["/usr/bin/"]))]);
        assert!(Header::parse(&missing_indexes).unwrap().file_paths().is_err());
        // One more empty name than snapscan reads: refused, not allocated.
        let names = vec![""; MAXIMUM_ARRAY_LENGTH as usize + 1];
        let too_many = blob(&[(tag::BASENAMES, Value::Strings(&names))]);
        assert!(matches!(
            Header::parse(&too_many).unwrap().file_paths(),
            Err(HeaderError::BadValue { reason: "array longer than snapscan reads", .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let good = package("openssl", Some(1), "3.0.8", "1.el9", "x86_64");
        for blob in corrupted_copies(&good, 0..good.len(), 2000, 4) {
            let _ = HeaderPackage::from_blob(&blob);
            let _ = Header::parse(&blob).map(|header| header.file_paths());
        }
    }
}
