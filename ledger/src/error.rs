//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong in the ledger. Each variant says what was being done and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `fsync`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An entry is larger than an entry bundle can hold.
    #[error("entry of {len} bytes is larger than the limit of {max} bytes")]
    EntryTooLarge {
        /// The entry's length.
        len: usize,
        /// [`crate::MAX_ENTRY_LEN`].
        max: usize,
    },
    /// Text in one of the crate's formats (key, note, checkpoint, tile, bundle, journal) is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The kind of thing being decoded (`signed note`, `checkpoint`, `entry bundle`, ...).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature did not verify, or the expected signature is missing.
    #[error("signature: {0}")]
    Signature(String),
    /// A proof does not prove what it claims.
    #[error("proof does not verify: {0}")]
    Proof(String),
    /// A request about the tree is out of range (index past the size, old size past new size, ...).
    #[error("out of range: {0}")]
    Range(String),
    /// The log on disk disagrees with itself: a tile, entry or checkpoint has been changed or lost.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The log-relative path of the first bad file (`tile/0/x001/234`, `checkpoint`, `journal`).
        path: String,
        /// What does not match, naming the entry index where there is one.
        reason: String,
    },
    /// A witness refuses to cosign.
    #[error("witness refuses to cosign: {0}")]
    Witness(String),
    /// A shared group commit failed; every entry of that commit gets this error.
    #[error("group commit failed: {0}")]
    GroupCommit(String),
    /// Another process has the log open for writing.
    #[error("{path}: the log is open by another writer")]
    Busy {
        /// The log directory.
        path: PathBuf,
    },
    /// The log directory already holds a log, or holds none.
    #[error("{path}: {reason}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
