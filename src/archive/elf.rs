//! A small ELF section-header reader, shared by the Go build-info and cargo-auditable
//! catalogers.
//!
//! Both only need one named section of an executable, so this reads the ELF header, the
//! section-header table and the section-name string table, and then the bytes of the
//! sections asked for, never the rest of the binary. Binaries on a scanned disk are
//! attacker-controlled: every offset and count is checked against the file size and
//! capped before anything is allocated.

use super::{Endian, RangeError, read_exact, read_range};
use crate::fs::{FileReader, FileType, FsError};

/// The four bytes every ELF file starts with.
pub const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];

/// Most section headers read (real binaries have tens; the format allows 2^32).
pub const MAX_SECTIONS: u32 = 65_536;

/// Largest section-name string table read.
pub const MAX_NAME_TABLE: u64 = 1024 * 1024;

/// `sh_type` of a section that occupies no bytes in the file (`.bss`).
const SECTION_TYPE_NO_BITS: u32 = 8;

/// Why an ELF file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The file does not start with the ELF magic.
    #[error("not an ELF file")]
    NotElf,
    /// A header field is impossible or points outside the file.
    #[error("corrupt ELF: {0}")]
    Corrupt(String),
    /// Reading the file failed.
    #[error(transparent)]
    Read(#[from] FsError),
    /// A range the file's fields name could not be read.
    #[error(transparent)]
    Range(#[from] RangeError),
}

/// Word size of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// ELFCLASS32.
    Bits32,
    /// ELFCLASS64.
    Bits64,
}

/// One entry of the section-header table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Name from the section-name string table (`.go.buildinfo`).
    pub name: Vec<u8>,
    /// `sh_type`.
    pub section_type: u32,
    /// `sh_addr`: where the section is loaded in memory.
    pub address: u64,
    /// `sh_offset`: where its bytes are in the file.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
}

/// The parts of an ELF file the catalogers need.
#[derive(Clone, Debug)]
pub struct ElfFile {
    /// Word size.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// Every section, in table order.
    pub sections: Vec<Section>,
}

/// Smallest file worth opening as an executable: an ELF64 header and one section header.
pub const SMALLEST_EXECUTABLE: u64 = 128;

/// Whether a file could be an executable worth reading headers of: a regular file with an
/// execute bit, at least [`SMALLEST_EXECUTABLE`] bytes. Pure, for catalogers' `wants`.
pub fn could_be_executable(file_type: FileType, mode: u32, size: u64) -> bool {
    file_type == FileType::Regular && mode & 0o111 != 0 && size >= SMALLEST_EXECUTABLE
}

/// The ELF file in `reader` and the bytes of its section `name` (under `limit`);
/// `Ok(None)` when the file is not ELF or has no such section (not an error: most
/// executables are neither Go nor cargo-auditable).
pub fn find_section(
    reader: &mut dyn FileReader,
    name: &[u8],
    limit: u64,
) -> Result<Option<(ElfFile, Vec<u8>)>, ElfError> {
    let elf = match ElfFile::read(reader) {
        Ok(elf) => elf,
        Err(ElfError::NotElf) => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some(section) = elf.section(name).cloned() else { return Ok(None) };
    let bytes = elf.section_bytes(reader, &section, limit)?;
    Ok(Some((elf, bytes)))
}

/// True when `header` starts with the ELF magic.
pub fn has_magic(header: &[u8]) -> bool {
    header.starts_with(&MAGIC)
}

/// Field offsets that differ between ELF32 and ELF64.
struct Layout {
    header_size: usize,
    section_table_offset: usize,
    section_entry_size: usize,
    section_count: usize,
    name_table_index: usize,
    /// Size of one section header.
    entry_size: u16,
}

impl Layout {
    fn of(class: Class) -> Self {
        match class {
            Class::Bits32 => Self {
                header_size: 52,
                section_table_offset: 0x20,
                section_entry_size: 0x2e,
                section_count: 0x30,
                name_table_index: 0x32,
                entry_size: 40,
            },
            Class::Bits64 => Self {
                header_size: 64,
                section_table_offset: 0x28,
                section_entry_size: 0x3a,
                section_count: 0x3c,
                name_table_index: 0x3e,
                entry_size: 64,
            },
        }
    }
}

/// A raw section header, before its name is looked up.
struct RawSection {
    name_offset: u32,
    section_type: u32,
    address: u64,
    offset: u64,
    size: u64,
    link: u32,
}

fn corrupt(message: impl Into<String>) -> ElfError {
    ElfError::Corrupt(message.into())
}

impl ElfFile {
    /// Read the ELF header and section table of `reader`.
    pub fn read(reader: &mut dyn FileReader) -> Result<Self, ElfError> {
        let mut first_bytes = [0u8; 64];
        let available = usize::try_from(reader.size()).unwrap_or(usize::MAX).min(first_bytes.len());
        let first_bytes = first_bytes.get_mut(..available).unwrap_or_default();
        read_exact(reader, 0, first_bytes)?;
        if !has_magic(first_bytes) {
            return Err(ElfError::NotElf);
        }
        let class = match first_bytes.get(4) {
            Some(1) => Class::Bits32,
            Some(2) => Class::Bits64,
            other => return Err(corrupt(format!("unknown ELF class {other:?}"))),
        };
        let endian = match first_bytes.get(5) {
            Some(1) => Endian::Little,
            Some(2) => Endian::Big,
            other => return Err(corrupt(format!("unknown ELF byte order {other:?}"))),
        };
        let layout = Layout::of(class);
        let header = first_bytes.get(..layout.header_size).ok_or_else(|| corrupt("ELF header is truncated"))?;
        let word = |offset: usize| -> Option<u64> {
            match class {
                Class::Bits32 => endian.u32(header, offset).map(u64::from),
                Class::Bits64 => endian.u64(header, offset),
            }
        };
        let truncated = || corrupt("ELF header is truncated");
        let table_offset = word(layout.section_table_offset).ok_or_else(truncated)?;
        let entry_size = endian.u16(header, layout.section_entry_size).ok_or_else(truncated)?;
        let mut count = u32::from(endian.u16(header, layout.section_count).ok_or_else(truncated)?);
        let mut name_index = u32::from(endian.u16(header, layout.name_table_index).ok_or_else(truncated)?);
        if table_offset == 0 {
            // No section table (allowed by the format): nothing to find.
            return Ok(Self { class, endian, sections: Vec::new() });
        }
        if entry_size != layout.entry_size {
            return Err(corrupt(format!("section header size is {entry_size}, expected {}", layout.entry_size)));
        }
        let file = ElfFile { class, endian, sections: Vec::new() };
        // Extended numbering: counts too large for the header live in section 0.
        if count == 0 || name_index == 0xffff {
            let first = file.raw_section(reader, table_offset, 0)?;
            if count == 0 {
                count = u32::try_from(first.size).map_err(|_| corrupt("section count overflows"))?;
            }
            if name_index == 0xffff {
                name_index = first.link;
            }
        }
        if count > MAX_SECTIONS {
            return Err(corrupt(format!("{count} sections, over the limit of {MAX_SECTIONS}")));
        }
        let table_length = u64::from(count)
            .checked_mul(u64::from(entry_size))
            .ok_or_else(|| corrupt("section table size overflows"))?;
        let table = read_range(reader, table_offset, table_length, u64::from(MAX_SECTIONS) * 64)
            .map_err(|error| corrupt(format!("section table at offset {table_offset}: {error}")))?;
        let raw: Vec<RawSection> =
            (0..count).map(|index| file.parse_section(&table, index)).collect::<Result<_, _>>()?;
        let names = match raw.get(usize::try_from(name_index).unwrap_or(usize::MAX)) {
            Some(table) if name_index != 0 => read_range(reader, table.offset, table.size, MAX_NAME_TABLE)
                .map_err(|error| corrupt(format!("section name table: {error}")))?,
            _ => Vec::new(),
        };
        let sections = raw
            .into_iter()
            .map(|section| Section {
                name: string_at(&names, section.name_offset),
                section_type: section.section_type,
                address: section.address,
                offset: section.offset,
                size: section.size,
            })
            .collect();
        Ok(Self { class, endian, sections })
    }

    /// Read section header `index` straight from the file (for extended numbering).
    fn raw_section(&self, reader: &mut dyn FileReader, table_offset: u64, index: u32) -> Result<RawSection, ElfError> {
        let entry_size = Layout::of(self.class).entry_size;
        let bytes = read_range(reader, table_offset, u64::from(entry_size), u64::from(entry_size))
            .map_err(|error| corrupt(format!("section table at offset {table_offset}: {error}")))?;
        self.parse_section(&bytes, index)
    }

    fn parse_section(&self, table: &[u8], index: u32) -> Result<RawSection, ElfError> {
        let entry_size = usize::from(Layout::of(self.class).entry_size);
        let start = usize::try_from(index)
            .ok()
            .and_then(|index| index.checked_mul(entry_size))
            .ok_or_else(|| corrupt("section index overflows"))?;
        let entry = start
            .checked_add(entry_size)
            .and_then(|end| table.get(start..end))
            .ok_or_else(|| corrupt(format!("section header {index} is truncated")))?;
        let endian = self.endian;
        let parsed = match self.class {
            Class::Bits32 => (|| {
                Some(RawSection {
                    name_offset: endian.u32(entry, 0)?,
                    section_type: endian.u32(entry, 4)?,
                    address: u64::from(endian.u32(entry, 12)?),
                    offset: u64::from(endian.u32(entry, 16)?),
                    size: u64::from(endian.u32(entry, 20)?),
                    link: endian.u32(entry, 24)?,
                })
            })(),
            Class::Bits64 => (|| {
                Some(RawSection {
                    name_offset: endian.u32(entry, 0)?,
                    section_type: endian.u32(entry, 4)?,
                    address: endian.u64(entry, 16)?,
                    offset: endian.u64(entry, 24)?,
                    size: endian.u64(entry, 32)?,
                    link: endian.u32(entry, 40)?,
                })
            })(),
        };
        parsed.ok_or_else(|| corrupt(format!("section header {index} is truncated")))
    }

    /// The first section called `name`.
    pub fn section(&self, name: &[u8]) -> Option<&Section> {
        self.sections.iter().find(|section| section.name == name)
    }

    /// The bytes of `section`, refusing sections over `limit` bytes or outside the file.
    pub fn section_bytes(
        &self,
        reader: &mut dyn FileReader,
        section: &Section,
        limit: u64,
    ) -> Result<Vec<u8>, ElfError> {
        if section.section_type == SECTION_TYPE_NO_BITS {
            return Err(corrupt(format!(
                "section {} has no bytes in the file",
                crate::fs::path::display(&section.name)
            )));
        }
        read_range(reader, section.offset, section.size, limit)
            .map_err(|error| corrupt(format!("section {}: {error}", crate::fs::path::display(&section.name))))
    }

    /// Read `length` bytes that the program would see at virtual `address`, through the
    /// section that holds them (the older Go build info points into `.data`).
    pub fn read_address(
        &self,
        reader: &mut dyn FileReader,
        address: u64,
        length: u64,
        limit: u64,
    ) -> Result<Vec<u8>, ElfError> {
        let end = address.checked_add(length).ok_or_else(|| corrupt("address range overflows"))?;
        let section = self
            .sections
            .iter()
            .filter(|section| section.section_type != SECTION_TYPE_NO_BITS && section.address != 0)
            .find(|section| {
                section.address <= address && section.address.checked_add(section.size).is_some_and(|top| end <= top)
            })
            .ok_or_else(|| corrupt(format!("no section holds {length} bytes at address {address:#x}")))?;
        // `section.address <= address` was checked just above.
        let offset = section
            .offset
            .checked_add(address.saturating_sub(section.address))
            .ok_or_else(|| corrupt("file offset overflows"))?;
        read_range(reader, offset, length, limit).map_err(|error| corrupt(format!("address {address:#x}: {error}")))
    }
}

/// The NUL-terminated string at `offset` of a string table (empty when out of range).
fn string_at(table: &[u8], offset: u32) -> Vec<u8> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let rest = table.get(start..).unwrap_or_default();
    let end = rest.iter().position(|&byte| byte == 0).unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default().to_vec()
}

#[cfg(test)]
pub mod testing {
    //! Build small ELF files in memory for tests of this reader and its users.

    /// One section to place in a built ELF file.
    pub struct SectionSpec {
        /// Section name.
        pub name: &'static str,
        /// Load address (0 for none).
        pub address: u64,
        /// Contents.
        pub bytes: Vec<u8>,
    }

    /// A little-endian ELF64 file with the given sections after the header, a name table
    /// last, and the section table at the end.
    pub fn build_elf64(sections: &[SectionSpec]) -> Vec<u8> {
        let mut file = vec![0u8; 64];
        file[..4].copy_from_slice(&super::MAGIC);
        file[4] = 2;
        file[5] = 1;
        file[6] = 1;
        let mut names = vec![0u8];
        let mut headers: Vec<(u32, u32, u64, u64, u64)> = vec![(0, 0, 0, 0, 0)];
        for section in sections {
            let name_offset = names.len() as u32;
            names.extend_from_slice(section.name.as_bytes());
            names.push(0);
            headers.push((name_offset, 1, section.address, file.len() as u64, section.bytes.len() as u64));
            file.extend_from_slice(&section.bytes);
        }
        let name_offset = names.len() as u32;
        names.extend_from_slice(b".shstrtab\0");
        headers.push((name_offset, 3, 0, file.len() as u64, names.len() as u64));
        file.extend_from_slice(&names);
        while file.len() % 8 != 0 {
            file.push(0);
        }
        let table_offset = file.len() as u64;
        for (name, kind, address, offset, size) in &headers {
            let mut entry = [0u8; 64];
            entry[0..4].copy_from_slice(&name.to_le_bytes());
            entry[4..8].copy_from_slice(&kind.to_le_bytes());
            entry[16..24].copy_from_slice(&address.to_le_bytes());
            entry[24..32].copy_from_slice(&offset.to_le_bytes());
            entry[32..40].copy_from_slice(&size.to_le_bytes());
            file.extend_from_slice(&entry);
        }
        file[0x28..0x30].copy_from_slice(&table_offset.to_le_bytes());
        file[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        file[0x3c..0x3e].copy_from_slice(&(headers.len() as u16).to_le_bytes());
        file[0x3e..0x40].copy_from_slice(&((headers.len() - 1) as u16).to_le_bytes());
        file
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{SectionSpec, build_elf64};
    use super::*;
    use crate::archive::MemoryReader;

    fn sample() -> Vec<u8> {
        build_elf64(&[
            SectionSpec { name: ".text", address: 0x1000, bytes: vec![0x90; 32] },
            SectionSpec { name: ".data", address: 0x2000, bytes: b"hello, world".to_vec() },
        ])
    }

    #[test]
    fn reads_sections_and_their_bytes() {
        let mut reader = MemoryReader(sample());
        let elf = ElfFile::read(&mut reader).unwrap();
        assert_eq!(elf.class, Class::Bits64);
        assert_eq!(elf.endian, Endian::Little);
        let names: Vec<&[u8]> = elf.sections.iter().map(|section| section.name.as_slice()).collect();
        assert_eq!(names, [&b""[..], b".text", b".data", b".shstrtab"]);
        let data = elf.section(b".data").unwrap().clone();
        assert_eq!(elf.section_bytes(&mut reader, &data, 1024).unwrap(), b"hello, world");
        assert!(matches!(elf.section_bytes(&mut reader, &data, 4), Err(ElfError::Corrupt(_))));
        assert_eq!(elf.read_address(&mut reader, 0x2007, 5, 64).unwrap(), b"world");
        assert!(elf.read_address(&mut reader, 0x2007, 6, 64).is_err());
        assert!(elf.read_address(&mut reader, u64::MAX, 6, 64).is_err());
        assert!(elf.section(b".go.buildinfo").is_none());
    }

    #[test]
    fn finds_named_sections_only_in_elf_files() {
        let (_, bytes) = find_section(&mut MemoryReader(sample()), b".data", 64).unwrap().unwrap();
        assert_eq!(bytes, b"hello, world");
        assert!(find_section(&mut MemoryReader(sample()), b".dep-v0", 64).unwrap().is_none());
        assert!(find_section(&mut MemoryReader(b"#!/bin/sh\n".repeat(20)), b".data", 64).unwrap().is_none());
        assert!(find_section(&mut MemoryReader(sample()[..100].to_vec()), b".data", 64).is_err());
    }

    #[test]
    fn executable_candidates_need_an_execute_bit_and_some_size() {
        assert!(could_be_executable(FileType::Regular, 0o755, 2_000_000));
        assert!(could_be_executable(FileType::Regular, 0o700, SMALLEST_EXECUTABLE));
        assert!(!could_be_executable(FileType::Regular, 0o644, 2_000_000));
        assert!(!could_be_executable(FileType::Regular, 0o755, SMALLEST_EXECUTABLE - 1));
        assert!(!could_be_executable(FileType::Symlink, 0o777, 2_000_000));
        assert!(!could_be_executable(FileType::Directory, 0o755, 4096));
    }

    #[test]
    fn rejects_non_elf_and_empty_files() {
        assert!(matches!(ElfFile::read(&mut MemoryReader(b"#!/bin/sh\necho hi\n".to_vec())), Err(ElfError::NotElf)));
        assert!(matches!(ElfFile::read(&mut MemoryReader(Vec::new())), Err(ElfError::NotElf)));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let file = sample();
        for length in 0..file.len() {
            let result = ElfFile::read(&mut MemoryReader(file[..length].to_vec()));
            // The name table sits before the section table, so any cut loses the table.
            assert!(result.is_err(), "truncated to {length} bytes was accepted");
        }
    }

    #[test]
    fn hostile_section_headers_are_refused() {
        let file = sample();
        let table_offset = u64::from_le_bytes(file[0x28..0x30].try_into().unwrap()) as usize;
        // A section whose bytes lie far past the end of the file.
        let mut far = file.clone();
        let data_entry = table_offset + 2 * 64;
        far[data_entry + 24..data_entry + 32].copy_from_slice(&(u64::MAX - 4).to_le_bytes());
        let mut reader = MemoryReader(far);
        let elf = ElfFile::read(&mut reader).unwrap();
        let data = elf.section(b".data").unwrap().clone();
        assert!(elf.section_bytes(&mut reader, &data, 1 << 20).is_err());
        // A section claiming an enormous size is refused before allocating.
        let mut huge = file.clone();
        huge[data_entry + 32..data_entry + 40].copy_from_slice(&(1u64 << 62).to_le_bytes());
        let mut reader = MemoryReader(huge);
        let elf = ElfFile::read(&mut reader).unwrap();
        let data = elf.section(b".data").unwrap().clone();
        assert!(elf.section_bytes(&mut reader, &data, 1 << 20).is_err());
        // A section table offset past the end, a wrong entry size, a name table index
        // out of range, and extended numbering claiming billions of sections.
        let mut cases = Vec::new();
        let mut bad_offset = file.clone();
        bad_offset[0x28..0x30].copy_from_slice(&(u64::MAX - 10).to_le_bytes());
        cases.push(bad_offset);
        let mut bad_entry = file.clone();
        bad_entry[0x3a..0x3c].copy_from_slice(&7u16.to_le_bytes());
        cases.push(bad_entry);
        let mut extended = file.clone();
        extended[0x3c..0x3e].copy_from_slice(&0u16.to_le_bytes());
        extended[table_offset + 32..table_offset + 40].copy_from_slice(&u64::from(u32::MAX).to_le_bytes());
        cases.push(extended);
        for case in cases {
            assert!(ElfFile::read(&mut MemoryReader(case)).is_err());
        }
        let mut bad_names = file.clone();
        bad_names[0x3e..0x40].copy_from_slice(&999u16.to_le_bytes());
        let elf = ElfFile::read(&mut MemoryReader(bad_names)).unwrap();
        assert!(elf.sections.iter().all(|section| section.name.is_empty()));
    }
}
