//! Witnesses: C2SP tlog-cosignature (`cosignature/v1`) and the k-of-n verifier policy.
//!
//! A witness keeps the last checkpoint it cosigned ([`WitnessState`]). It cosigns a new checkpoint
//! only when the log's signature verifies and a consistency proof shows that the new tree extends
//! the one it signed before, so that no two departments can be shown different histories.
//!
//! The cosigned message is `cosignature/v1\ntime <seconds>\n` followed by the checkpoint's note text;
//! the signature line carries the key id, the time (8 bytes, big-endian) and the Ed25519 signature.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::note::{KeyKind, Note, NoteSignature, SignerKey, VerifierKey};
use crate::proof::verify_consistency;

/// What a witness remembers between cosignatures: the log it follows and the last tree it signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    /// The log's verifier key (vkey text).
    pub log_key: String,
    /// The size of the last cosigned checkpoint (0 before the first).
    pub size: u64,
    /// The root of the last cosigned checkpoint, in hex.
    pub root: String,
}

/// A verifier's trust policy: the log's key, and at least `quorum` valid cosignatures from `witnesses`.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The log's note key.
    pub log: VerifierKey,
    /// The witnesses' cosignature keys.
    pub witnesses: Vec<VerifierKey>,
    /// How many distinct witnesses must have cosigned.
    pub quorum: usize,
}

/// Cosigns `note` (the text of a checkpoint) at `timestamp` (seconds since the Unix epoch).
pub fn cosign(witness: &SignerKey, note: &Note, timestamp: u64) -> Result<NoteSignature> {
    if witness.kind() != KeyKind::Cosignature {
        return Err(Error::Witness(format!(
            "{} is not a cosigning key",
            witness.name()
        )));
    }
    let signature = witness.sign_raw(&cosigned_message(note.text(), timestamp));
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&signature);
    Ok(NoteSignature {
        name: witness.name().to_owned(),
        key_id: witness.key_id(),
        signature: bytes,
    })
}

/// Checks the cosignature of `witness` on `note`; returns its timestamp.
pub fn verify_cosignature(witness: &VerifierKey, note: &Note) -> Result<u64> {
    if witness.kind() != KeyKind::Cosignature {
        return Err(Error::Signature(format!(
            "{} is not a cosignature key",
            witness.name()
        )));
    }
    let line = note
        .signatures()
        .iter()
        .find(|signature| witness.matches(signature))
        .ok_or_else(|| Error::Signature(format!("no cosignature from {}", witness.name())))?;
    if line.signature.len() != 72 {
        return Err(Error::Signature(format!(
            "cosignature from {} is not 72 bytes",
            witness.name()
        )));
    }
    let mut time = [0u8; 8];
    time.copy_from_slice(&line.signature[..8]);
    let timestamp = u64::from_be_bytes(time);
    if timestamp > i64::MAX as u64 {
        return Err(Error::Signature(format!(
            "cosignature from {} has an impossible time",
            witness.name()
        )));
    }
    if !witness.verify_raw(
        &cosigned_message(note.text(), timestamp),
        &line.signature[8..],
    ) {
        return Err(Error::Signature(format!(
            "cosignature from {} does not verify",
            witness.name()
        )));
    }
    Ok(timestamp)
}

impl Policy {
    /// Checks the log's signature and a quorum of cosignatures; returns the checkpoint.
    pub fn verify(&self, note: &Note) -> Result<Checkpoint> {
        note.verify(&self.log)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != self.log.name() {
            return Err(Error::Signature(format!(
                "checkpoint origin {} is not the log key's name {}",
                checkpoint.origin,
                self.log.name()
            )));
        }
        let mut valid: Vec<&VerifierKey> = Vec::new();
        for witness in &self.witnesses {
            if verify_cosignature(witness, note).is_ok()
                && !valid.iter().any(|seen| seen.key_id() == witness.key_id())
            {
                valid.push(witness);
            }
        }
        if valid.len() < self.quorum {
            return Err(Error::Signature(format!(
                "{} of the {} witnesses cosigned, the policy needs {}",
                valid.len(),
                self.witnesses.len(),
                self.quorum
            )));
        }
        Ok(checkpoint)
    }
}

impl WitnessState {
    /// A witness of the log with key `log_key` that has signed nothing yet.
    pub fn new(log_key: &VerifierKey) -> WitnessState {
        WitnessState {
            log_key: log_key.to_string(),
            size: 0,
            root: crate::hash::empty_root().to_hex(),
        }
    }

    /// Checks `note` against the last cosigned tree with `proof` (a consistency proof from
    /// `self.size` to the note's size) and, if it extends it, cosigns it and remembers it.
    pub fn cosign(
        &mut self,
        witness: &SignerKey,
        note: &Note,
        proof: &[Hash],
        timestamp: u64,
    ) -> Result<NoteSignature> {
        let log_key = VerifierKey::parse(&self.log_key)?;
        note.verify(&log_key)
            .map_err(|error| Error::Witness(error.to_string()))?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != log_key.name() {
            return Err(Error::Witness(format!(
                "origin {} is not the log {}",
                checkpoint.origin,
                log_key.name()
            )));
        }
        if checkpoint.size < self.size {
            return Err(Error::Witness(format!(
                "checkpoint size {} is older than the cosigned size {}",
                checkpoint.size, self.size
            )));
        }
        let old_root = Hash::from_hex(&self.root)?;
        verify_consistency(
            self.size,
            checkpoint.size,
            proof,
            &old_root,
            &checkpoint.root,
        )
        .map_err(|error| {
            Error::Witness(format!(
                "not consistent with the cosigned size {}: {error}",
                self.size
            ))
        })?;
        let signature = cosign(witness, note, timestamp)?;
        self.size = checkpoint.size;
        self.root = checkpoint.root.to_hex();
        Ok(signature)
    }
}

fn cosigned_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, merkle_root};
    use crate::proof::{MemoryTree, consistency_proof};

    fn checkpoint_note(log: &SignerKey, leaves: &[Hash]) -> Note {
        let checkpoint = Checkpoint {
            origin: log.name().to_owned(),
            size: leaves.len() as u64,
            root: merkle_root(leaves),
            extensions: vec![],
        };
        Note::sign(&checkpoint.to_text(), &[log]).expect("signs")
    }

    #[test]
    fn a_witness_cosigns_consistent_checkpoints_and_refuses_a_fork() {
        let log = SignerKey::generate("city.example/ledger", KeyKind::Note).expect("key");
        let witness =
            SignerKey::generate("police.example/witness", KeyKind::Cosignature).expect("key");
        let mut state = WitnessState::new(&log.verifier());
        let leaves: Vec<Hash> = (0..20u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();

        let first = checkpoint_note(&log, &leaves[..7]);
        state
            .cosign(&witness, &first, &[], 1_700_000_000)
            .expect("first checkpoint is trusted on first use");
        assert_eq!(state.size, 7);

        let mut tree = MemoryTree(leaves.clone());
        let proof = consistency_proof(&mut tree, 7, 20).expect("proof");
        let mut second = checkpoint_note(&log, &leaves);
        let line = state
            .cosign(&witness, &second, &proof, 1_700_000_100)
            .expect("consistent");
        second.add_signature(line);
        assert_eq!(
            verify_cosignature(&witness.verifier(), &second).expect("verifies"),
            1_700_000_100
        );

        // A fork: a tree of 21 leaves whose first 20 differ from what the witness signed.
        let mut forked: Vec<Hash> = (100..121u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let fork_note = checkpoint_note(&log, &forked);
        let mut fork_tree = MemoryTree(std::mem::take(&mut forked));
        let fork_proof = consistency_proof(&mut fork_tree, 20, 21).expect("proof");
        assert!(matches!(
            state.cosign(&witness, &fork_note, &fork_proof, 1_700_000_200),
            Err(Error::Witness(_))
        ));
        assert_eq!(state.size, 20, "a refused checkpoint changes nothing");

        // An older checkpoint is refused too.
        assert!(state.cosign(&witness, &first, &[], 1_700_000_300).is_err());
    }

    #[test]
    fn the_policy_needs_a_quorum_of_valid_cosignatures() {
        let log = SignerKey::generate("city.example/ledger", KeyKind::Note).expect("key");
        let witnesses: Vec<SignerKey> = (0..3)
            .map(|i| {
                SignerKey::generate(&format!("w{i}.example"), KeyKind::Cosignature).expect("key")
            })
            .collect();
        let leaves: Vec<Hash> = (0..5u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut note = checkpoint_note(&log, &leaves);
        let policy = Policy {
            log: log.verifier(),
            witnesses: witnesses.iter().map(SignerKey::verifier).collect(),
            quorum: 2,
        };
        assert!(policy.verify(&note).is_err(), "no cosignature yet");
        note.add_signature(cosign(&witnesses[0], &note, 10).expect("cosigns"));
        assert!(policy.verify(&note).is_err(), "one of two");
        // A cosignature over another text does not count.
        let other = checkpoint_note(&log, &leaves[..4]);
        let mut forged = cosign(&witnesses[1], &other, 10).expect("cosigns");
        note.add_signature(forged.clone());
        assert!(policy.verify(&note).is_err(), "forged cosignature counted");
        forged = cosign(&witnesses[1], &note, 11).expect("cosigns");
        note.add_signature(forged);
        let checkpoint = policy.verify(&note).expect("two of three");
        assert_eq!(checkpoint.size, 5);
        // The note survives its text form.
        policy
            .verify(&Note::parse(note.to_text().as_bytes()).expect("parses"))
            .expect("still verifies");
    }

    /// A native `cosignature/v1` (type 0x04) verifier key from the tests of transparency-dev/formats
    /// (`note/note_cosigv1_test.go`): its key id must come out as the one it names.
    #[test]
    fn a_published_cosignature_key_parses_with_its_key_id() {
        let key = VerifierKey::parse(
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        )
        .expect("parses");
        assert_eq!(key.kind(), KeyKind::Cosignature);
        assert_eq!(key.key_id(), [0xda, 0x77, 0xad, 0xe7]);
    }

    #[test]
    fn cosigning_needs_a_cosignature_key() {
        let log = SignerKey::generate("city.example/ledger", KeyKind::Note).expect("key");
        let note = checkpoint_note(&log, &[leaf_hash(b"x")]);
        assert!(cosign(&log, &note, 1).is_err());
        assert!(verify_cosignature(&log.verifier(), &note).is_err());
    }
}
