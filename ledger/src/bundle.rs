//! Proof bundles: what a department needs to check an entry, or a new checkpoint, offline.
//!
//! Both are JSON objects (a stored format on purpose) with a `format` field naming their version:
//!
//! - `roadcode-ledger-inclusion/v1`: `index`, `entry` (base64), `proof` (base64 hashes, leaf side
//!   first) and `checkpoint` (the signed note, with any cosignatures). It proves that `entry` is at
//!   `index` in the tree that the checkpoint signs.
//! - `roadcode-ledger-consistency/v1`: `old_size`, `proof` and `checkpoint`. It proves that the tree
//!   of `old_size` entries is a prefix of the tree that the checkpoint signs; a witness checks it
//!   before cosigning.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};
use crate::log::Log;
use crate::note::Note;
use crate::proof::verify_inclusion;
use crate::witness::Policy;

/// The `format` of an inclusion bundle.
pub const INCLUSION_FORMAT: &str = "roadcode-ledger-inclusion/v1";
/// The `format` of a consistency bundle.
pub const CONSISTENCY_FORMAT: &str = "roadcode-ledger-consistency/v1";

/// An entry, its inclusion proof and the signed checkpoint it leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionBundle {
    /// Always [`INCLUSION_FORMAT`].
    pub format: String,
    /// The entry's index.
    pub index: u64,
    /// The entry, base64.
    pub entry: String,
    /// The proof hashes, base64, leaf side first.
    pub proof: Vec<String>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// A consistency proof from an older size to a signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBundle {
    /// Always [`CONSISTENCY_FORMAT`].
    pub format: String,
    /// The size the proof starts from.
    pub old_size: u64,
    /// The proof hashes, base64.
    pub proof: Vec<String>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// What a checked inclusion bundle proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenEntry {
    /// The entry's index.
    pub index: u64,
    /// The entry.
    pub entry: Vec<u8>,
    /// The checkpoint it is included in.
    pub checkpoint: Checkpoint,
}

impl InclusionBundle {
    /// The bundle for entry `index` under the log's published checkpoint.
    pub fn prove(log: &Log, index: u64) -> Result<InclusionBundle> {
        let size = log.published_size();
        if index >= size {
            return Err(Error::Range(format!(
                "index {index} is not below the published size {size}"
            )));
        }
        let entry = log.entry(index)?;
        let proof = log.inclusion_proof(index, size)?;
        Ok(InclusionBundle {
            format: INCLUSION_FORMAT.to_owned(),
            index,
            entry: BASE64.encode(entry),
            proof: proof.iter().map(Hash::to_base64).collect(),
            checkpoint: log.checkpoint().to_text(),
        })
    }

    /// Parses a bundle from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<InclusionBundle> {
        let bundle: InclusionBundle = serde_json::from_slice(bytes)
            .map_err(|error| Error::malformed("inclusion bundle", error.to_string()))?;
        if bundle.format != INCLUSION_FORMAT {
            return Err(Error::malformed(
                "inclusion bundle",
                format!("format {:?} is not {INCLUSION_FORMAT}", bundle.format),
            ));
        }
        Ok(bundle)
    }

    /// Checks the checkpoint against `policy` and the entry's inclusion in it.
    pub fn check(&self, policy: &Policy) -> Result<ProvenEntry> {
        let note = Note::parse(self.checkpoint.as_bytes())?;
        let checkpoint = policy.verify(&note)?;
        let entry = BASE64
            .decode(&self.entry)
            .map_err(|_| Error::malformed("inclusion bundle", "entry is not base64"))?;
        let proof = decode_hashes(&self.proof)?;
        verify_inclusion(
            &leaf_hash(&entry),
            self.index,
            checkpoint.size,
            &proof,
            &checkpoint.root,
        )?;
        Ok(ProvenEntry {
            index: self.index,
            entry,
            checkpoint,
        })
    }
}

impl ConsistencyBundle {
    /// The bundle from `old_size` to the log's published checkpoint.
    pub fn prove(log: &Log, old_size: u64) -> Result<ConsistencyBundle> {
        let proof = log.consistency_proof(old_size, log.published_size())?;
        Ok(ConsistencyBundle {
            format: CONSISTENCY_FORMAT.to_owned(),
            old_size,
            proof: proof.iter().map(Hash::to_base64).collect(),
            checkpoint: log.checkpoint().to_text(),
        })
    }

    /// Parses a bundle from JSON.
    pub fn from_json(bytes: &[u8]) -> Result<ConsistencyBundle> {
        let bundle: ConsistencyBundle = serde_json::from_slice(bytes)
            .map_err(|error| Error::malformed("consistency bundle", error.to_string()))?;
        if bundle.format != CONSISTENCY_FORMAT {
            return Err(Error::malformed(
                "consistency bundle",
                format!("format {:?} is not {CONSISTENCY_FORMAT}", bundle.format),
            ));
        }
        Ok(bundle)
    }

    /// The signed note and the proof hashes.
    pub fn parts(&self) -> Result<(Note, Vec<Hash>)> {
        Ok((
            Note::parse(self.checkpoint.as_bytes())?,
            decode_hashes(&self.proof)?,
        ))
    }
}

fn decode_hashes(encoded: &[String]) -> Result<Vec<Hash>> {
    if encoded.len() > 128 {
        return Err(Error::malformed("proof", "more than 128 hashes"));
    }
    encoded.iter().map(|text| Hash::from_base64(text)).collect()
}
