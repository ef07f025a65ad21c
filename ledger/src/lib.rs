//! An append-only, verifiable log that other parties can check on their own.
//!
//! The ledger stores entries (bytes, at most [`MAX_ENTRY_LEN`]) and proves things about them,
//! following the transparency-log standards: the RFC 6962 Merkle tree over SHA-256, C2SP tlog-tiles
//! on disk, C2SP tlog-checkpoint in a C2SP signed-note signed with the log's Ed25519 key, inclusion
//! and consistency proofs, and C2SP tlog-cosignature from witnesses. It knows nothing about what the
//! entries mean.
//!
//! - [`Log`] is the writer: [`Log::append`] returns once the entries are durable (one journal write
//!   and one fsync per call), [`Log::publish`] signs a checkpoint, and a crash at any moment is
//!   repaired by [`Log::open`]. [`GroupCommit`] lets many threads share each fsync.
//! - [`verify_dir`] recomputes every hash of a log directory from its entries, offline.
//! - [`InclusionBundle`] and [`ConsistencyBundle`] carry proofs to departments, who check them with
//!   a [`Policy`] (the log's key and k of n witnesses); [`WitnessState`] is a witness's memory.
//!
//! ```
//! # fn main() -> Result<(), ledger::Error> {
//! # let dir = std::env::temp_dir().join(format!("ledger-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let mut log = ledger::Log::create(&dir, "city.example/ledger", ledger::Options::default())?;
//! let indices = log.append(&[b"first".as_slice(), b"second".as_slice()])?;
//! assert_eq!(indices, 0..2);
//! log.publish()?;
//! let bundle = ledger::InclusionBundle::prove(&log, 1)?;
//! let policy = ledger::Policy { log: log.verifier(), witnesses: vec![], quorum: 0 };
//! assert_eq!(bundle.check(&policy)?.entry, b"second");
//! assert_eq!(ledger::verify_dir(&dir, &log.verifier())?.size, 2);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod bundle;
mod checkpoint;
mod error;
mod group;
mod hash;
mod journal;
mod log;
mod note;
mod proof;
mod tile;
mod verify;
mod witness;

pub use bundle::{
    CONSISTENCY_FORMAT, ConsistencyBundle, INCLUSION_FORMAT, InclusionBundle, ProvenEntry,
};
pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use group::GroupCommit;
pub use hash::{Hash, empty_root, leaf_hash, merkle_root, node_hash};
pub use log::{
    CHECKPOINT_FILE, Durability, JOURNAL_FILE, KEY_FILE, LOCK_FILE, Log, NODES_FILE, Options,
    PUBLIC_KEY_FILE,
};
pub use note::{
    KeyKind, MAX_NOTE_LEN, MAX_SIGNATURES, Note, NoteSignature, SignerKey, VerifierKey,
};
pub use proof::{verify_consistency, verify_inclusion};
pub use tile::{
    MAX_ENTRY_LEN, TILE_HEIGHT, TILE_WIDTH, TileId, TileKind, decode_bundle, decode_hash_tile,
    encode_hash_tile, push_bundle_entry,
};
pub use verify::{Report, verify_dir};
pub use witness::{Policy, WitnessState, cosign, verify_cosignature};

/// Decoders exposed for fuzzing only; not part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Scans journal bytes as [`crate::Log::open`] does.
    pub fn scan_journal(bytes: &[u8]) -> bool {
        match crate::journal::scan(bytes) {
            Ok(scan) => scan
                .batches
                .iter()
                .all(|batch| crate::journal::batch_entries(bytes, batch).is_ok()),
            Err(_) => false,
        }
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
#[cfg(test)]
pub(crate) struct TestDir(pub std::path::PathBuf);

#[cfg(test)]
impl TestDir {
    pub(crate) fn new(name: &str) -> TestDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "ledger-test-{}-{name}-{unique}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        TestDir(path)
    }
}

#[cfg(test)]
impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
