//! Storage: curve files (CSV, Parquet), tabular batch I/O, the station database (runs,
//! journal, raw data, audit trail, queue) and exports.

pub mod batch;
pub mod curves;
pub mod db;
pub mod export;
pub mod lab;
pub mod queue;
pub mod record;
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

/// Write a file so that readers never see it half-written (see [`AtomicFile`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut out = AtomicFile::create(path)?;
    out.file().write_all(bytes).map_err(|e| out.error(e))?;
    out.commit()
}

/// An output file written beside its target and renamed over it once complete and flushed to
/// disk, so that readers never see a half-written file. Only regular files are ever replaced:
/// a device, FIFO, socket or directory at the path is refused (replacing `/dev/null` with a
/// file, or a FIFO another program reads, would be a silent disaster); a symbolic link is
/// followed deliberately — the file it points to is replaced and the link stays.
pub struct AtomicFile {
    target: std::path::PathBuf,
    tmp: std::path::PathBuf,
    file: std::fs::File,
    committed: bool,
}

impl AtomicFile {
    /// Start writing `path`.
    pub fn create(path: &Path) -> Result<AtomicFile, StoreError> {
        let target = output_target(path)?;
        let tmp = target.with_file_name(format!(
            ".{}.tmp{}",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let file = std::fs::File::create(&tmp).map_err(|e| StoreError::Write {
            file: path.display().to_string(),
            source: e,
        })?;
        Ok(AtomicFile {
            target,
            tmp,
            file,
            committed: false,
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// An I/O error while writing, as a store error naming the target.
    pub fn error(&self, e: std::io::Error) -> StoreError {
        StoreError::Write {
            file: self.target.display().to_string(),
            source: e,
        }
    }

    /// Flush to disk and rename over the target.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.file.sync_all().map_err(|e| self.error(e))?;
        std::fs::rename(&self.tmp, &self.target).map_err(|e| self.error(e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed (an error on the way): leave no temporary file behind.
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The regular file an output path designates: symbolic links followed (at most 40, as the
/// kernel does), anything but a regular file or a free name refused.
fn output_target(path: &Path) -> Result<std::path::PathBuf, StoreError> {
    let refuse = |what: &str| StoreError::Write {
        file: path.display().to_string(),
        source: std::io::Error::other(format!(
            "is {what}; pvstation writes its output only to regular files — give a file name"
        )),
    };
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if path.as_os_str().to_string_lossy().ends_with('/') {
                    return Err(refuse("a directory name (it ends in /)"));
                }
                return Ok(target);
            }
            Err(e) => {
                return Err(StoreError::Write {
                    file: path.display().to_string(),
                    source: e,
                });
            }
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&target).map_err(|e| StoreError::Write {
                    file: path.display().to_string(),
                    source: e,
                })?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_file() => return Ok(target),
            Ok(m) => {
                use std::os::unix::fs::FileTypeExt;
                let t = m.file_type();
                return Err(refuse(if t.is_dir() {
                    "a directory"
                } else if t.is_fifo() {
                    "a FIFO (named pipe)"
                } else if t.is_char_device() || t.is_block_device() {
                    "a device"
                } else if t.is_socket() {
                    "a socket"
                } else {
                    "not a regular file"
                }));
            }
        }
    }
    Err(refuse("a chain of more than 40 symbolic links"))
}

/// Whether an output path names the same file as an input (an output must never overwrite
/// what is being read).
pub fn same_file(input: &Path, output: &Path) -> bool {
    let Ok(a) = std::fs::canonicalize(input) else {
        return false;
    };
    match output_target(output) {
        Ok(t) => {
            std::fs::canonicalize(&t).is_ok_and(|b| a == b)
                || t.parent()
                    .and_then(|d| {
                        std::fs::canonicalize(if d.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            d
                        })
                        .ok()
                    })
                    .zip(t.file_name())
                    .is_some_and(|(d, n)| d.join(n) == a)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pvstation-out-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    /// Regression (issue 11, defect 1): `--out` replaced a device, a FIFO or a symlink with a
    /// regular file.
    #[test]
    fn only_regular_files_are_replaced() {
        let d = dir("kinds");
        // A device node of our own (mknod needs root; the FIFO below covers the rule without
        // it). Never /dev/null itself: were the rule broken, a root test would replace it.
        let device = d.join("null");
        if std::process::Command::new("mknod")
            .arg(&device)
            .args(["c", "1", "3"])
            .status()
            .is_ok_and(|s| s.success())
        {
            let err = write_atomically(&device, b"x").expect_err("device");
            assert!(err.to_string().contains("is a device"), "{err}");
            assert!(std::fs::metadata(&device).is_ok_and(|m| !m.is_file()));
        }
        let fifo = d.join("f");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = write_atomically(&fifo, b"x").expect_err("fifo");
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
        let err = write_atomically(&d, b"x").expect_err("directory");
        assert!(err.to_string().contains("is a directory"), "{err}");
        // A symbolic link is followed: the file it names is replaced, the link stays.
        let real = d.join("real.csv");
        std::fs::write(&real, b"old").expect("write");
        let link = d.join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).expect("symlink");
        write_atomically(&link, b"new").expect("through the link");
        assert!(std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
        assert_eq!(std::fs::read(&real).expect("read"), b"new");
        // … and a link to a FIFO is refused like the FIFO.
        if fifo.exists() {
            let to_fifo = d.join("to-fifo");
            std::os::unix::fs::symlink(&fifo, &to_fifo).expect("symlink");
            assert!(write_atomically(&to_fifo, b"x").is_err());
        }
        // No temporary file is left behind by a refused or finished write.
        let left: Vec<_> = std::fs::read_dir(&d)
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(same_file(&real, &link) && same_file(&real, &real));
        assert!(!same_file(&real, &d.join("other.csv")));
    }
}
