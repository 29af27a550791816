//! Storage: curve files (CSV, Parquet), tabular batch I/O, the station database (runs,
//! journal, raw data, audit trail, queue) and exports.

pub mod batch;
pub mod curves;
pub mod db;
pub mod export;
pub mod queue;
pub mod refs;
pub mod reports;
pub mod table;

use std::path::Path;

use crate::analysis::AnalysisError;

/// Errors of the storage layer; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// Path.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file cannot be written.
    #[error("cannot write {file}: {source}")]
    Write {
        /// Path.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file's content is not a valid curve.
    #[error("{file}: {source}")]
    Curve {
        /// Path.
        file: String,
        /// What is wrong.
        source: AnalysisError,
    },
    /// A table (Parquet/CSV through polars) problem.
    #[error("{file}: {problem}")]
    Table {
        /// Path.
        file: String,
        /// What is wrong.
        problem: String,
    },
}

/// Write a file so that readers never see it half-written: write a temporary file next to
/// it, flush it to disk, then rename it over the target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let fail = |e: std::io::Error| StoreError::Write {
        file: path.display().to_string(),
        source: e,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(fail)
}
