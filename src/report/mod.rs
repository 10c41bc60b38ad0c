//! Reports: every output format is a writer that reads one [`Scan`](crate::model::Scan)
//! and writes bytes, so formats never see the pipeline and cannot disagree about results.

pub mod asff;
pub mod common;
pub mod csv;
pub mod cyclonedx;
#[cfg(test)]
pub mod sample;
pub mod sarif;
pub mod spdx;
