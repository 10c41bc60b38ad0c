#!/usr/bin/env python3
"""Write the walk manifest of a directory tree: one line per path below the root,
`<type>\t<size>\t<sha256 or link target>\t<path>`, sorted by path bytes.

The manifest is made from the source tree with the host's own view of it, never from
snapscan's reader, so a test comparing the two can fail. Paths are shown as snapscan's
`fs::path::display` shows them: UTF-8 as is, other bytes as \\xNN.
"""
import hashlib
import os
import stat
import sys


def display(raw: bytes) -> str:
    out = []
    while raw:
        try:
            out.append(raw.decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            out.append(raw[: error.start].decode("utf-8"))
            out.extend(f"\\x{byte:02x}" for byte in raw[error.start : error.end])
            raw = raw[error.end :]
    return "".join(out)


def entries(root: bytes, prefix: str = ""):
    root = os.fsencode(root)
    rows = []
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            full = os.path.join(directory, name)
            relative = b"/" + os.path.relpath(full, root)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(full)
                rows.append((relative, f"symlink\t{len(target)}\t{display(target)}"))
            elif stat.S_ISDIR(info.st_mode):
                rows.append((relative, "directory\t-\t-"))
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(open(full, "rb").read()).hexdigest()
                rows.append((relative, f"file\t{info.st_size}\t{digest}"))
            else:
                rows.append((relative, "other\t-\t-"))
    rows.sort()
    return [f"{prefix}{row}\t{display(path)}" for path, row in rows]


if __name__ == "__main__":
    # Arguments: pairs of PARTITION TREE; partition is a number or "-" for a bare fs.
    arguments = sys.argv[1:]
    lines = []
    for partition, tree in zip(arguments[0::2], arguments[1::2]):
        lines.extend(entries(tree, f"{partition}\t"))
    sys.stdout.write("\n".join(lines) + "\n")
