//! snapscan: find vulnerable software on Linux disks without running anything on them.
//!
//! The pipeline is `source → volume → fs → walk ⇄ catalog → (match) → report`; each stage
//! is a module with a narrow seam, and `scan` strings them together. See `docs/design.md`.
#![forbid(unsafe_code)]

pub mod advisory;
pub mod archive;
pub mod aws;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod db;
pub mod distro;
pub mod fs;
pub mod matcher;
pub mod model;
pub mod outcome;
pub mod progress;
pub mod report;
pub mod scan;
pub mod settings;
pub mod source;
pub mod suppress;
pub mod version;
pub mod volume;

#[cfg(test)]
pub mod test_fixtures;
