//! Byte-path helpers: image paths are bytes, not `OsStr`, and never touch the host.

/// The non-empty components of `path`, split on `/`.
pub fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&byte| byte == b'/').filter(|part| !part.is_empty())
}

/// `/a/b` from `[a, b]`; `/` from none.
pub fn join_components<P: AsRef<[u8]>>(parts: &[P]) -> Vec<u8> {
    append_components(Vec::new(), parts)
}

/// `path` with `/part` appended for each of `parts`; `/` when it stays empty.
fn append_components<P: AsRef<[u8]>>(mut path: Vec<u8>, parts: impl IntoIterator<Item = P>) -> Vec<u8> {
    for part in parts {
        path.push(b'/');
        path.extend_from_slice(part.as_ref());
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

/// `parent/name`, with exactly one slash between.
pub fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = parent.to_vec();
    if path.last() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// Absolute path with single slashes and no trailing slash (`.`/`..` kept as they are).
pub fn normalize(path: &[u8]) -> Vec<u8> {
    // One allocation: dpkg's file lists run this over 100,000+ paths per filesystem.
    append_components(Vec::with_capacity(path.len() + 1), components(path))
}

/// The directory part of `path` (`/a/b` → `/a`, `/a` → `/`).
pub fn parent(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&byte| byte == b'/') {
        Some(0) | None => b"/",
        Some(index) => &path[..index],
    }
}

/// The last component of `path`.
pub fn file_name(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&byte| byte == b'/') {
        Some(index) => &path[index + 1..],
        None => path,
    }
}

/// A path for people and reports: UTF-8 as is, other bytes as `\xNN`.
pub fn display(path: &[u8]) -> String {
    let mut text = String::with_capacity(path.len());
    for chunk in path.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(normalize(b"//etc///os-release/"), b"/etc/os-release");
        assert_eq!(normalize(b"usr/./bin/../lib"), b"/usr/./bin/../lib");
        assert_eq!(normalize(b"//"), b"/");
        assert_eq!(normalize(b""), b"/");
        assert_eq!(join(b"/", b"etc"), b"/etc");
        assert_eq!(join(b"/etc", b"x"), b"/etc/x");
        assert_eq!(parent(b"/etc/x"), b"/etc");
        assert_eq!(parent(b"/etc"), b"/");
        assert_eq!(file_name(b"/etc/x"), b"x");
        assert_eq!(display(b"/a/\xff\xfeb"), "/a/\\xff\\xfeb");
    }
}
