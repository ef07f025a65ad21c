//! Inclusion and consistency proofs (RFC 6962 §2.1, verified as in RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! Proofs are generated from any source of complete-subtree hashes ([`NodeSource`]): the log on disk
//! reads them from its tiles; tests use a list of leaves in memory.

use crate::error::{Error, Result};
use crate::hash::{Hash, largest_power_of_two_below, node_hash};

/// A source of the hashes of complete subtrees: `node(level, index)` is the root of the 2^level
/// leaves starting at `index << level`. Callers only ask for subtrees that are complete.
pub(crate) trait NodeSource {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash>;
}

/// The hash of the leaves `[start, start + len)`, where `start` is a multiple of the largest power
/// of two not above `len` (true of every range that the RFC 6962 recursions visit). `len` ≥ 1.
pub(crate) fn range_hash(source: &mut impl NodeSource, start: u64, len: u64) -> Result<Hash> {
    debug_assert!(len >= 1);
    // The range splits into complete subtrees, largest first; the hash folds them from the right.
    let mut pieces = Vec::with_capacity(64);
    let mut position = start;
    let mut remaining = len;
    while remaining > 0 {
        let level = 63 - remaining.leading_zeros();
        pieces.push(source.node(level, position >> level)?);
        position += 1 << level;
        remaining -= 1 << level;
    }
    let mut hash = pieces.pop().expect("len >= 1 gives one piece");
    while let Some(left) = pieces.pop() {
        hash = node_hash(&left, &hash);
    }
    Ok(hash)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, leaf-side sibling first.
pub(crate) fn inclusion_proof(
    source: &mut impl NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::Range(format!(
            "index {index} is not below the tree size {size}"
        )));
    }
    let mut proof = Vec::new();
    inclusion_path(source, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn inclusion_path(
    source: &mut impl NodeSource,
    index: u64,
    start: u64,
    len: u64,
    proof: &mut Vec<Hash>,
) -> Result<()> {
    if len <= 1 {
        return Ok(());
    }
    let split = largest_power_of_two_below(len);
    if index < split {
        inclusion_path(source, index, start, split, proof)?;
        proof.push(range_hash(source, start + split, len - split)?);
    } else {
        inclusion_path(source, index - split, start + split, len - split, proof)?;
        proof.push(range_hash(source, start, split)?);
    }
    Ok(())
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
pub(crate) fn consistency_proof(
    source: &mut impl NodeSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>> {
    if old > new {
        return Err(Error::Range(format!(
            "old size {old} is past the new size {new}"
        )));
    }
    let mut proof = Vec::new();
    if old > 0 && old < new {
        subproof(source, old, 0, new, true, &mut proof)?;
    }
    Ok(proof)
}

fn subproof(
    source: &mut impl NodeSource,
    old: u64,
    start: u64,
    len: u64,
    whole: bool,
    proof: &mut Vec<Hash>,
) -> Result<()> {
    if old == len {
        if !whole {
            proof.push(range_hash(source, start, len)?);
        }
        return Ok(());
    }
    let split = largest_power_of_two_below(len);
    if old <= split {
        subproof(source, old, start, split, whole, proof)?;
        proof.push(range_hash(source, start + split, len - split)?);
    } else {
        subproof(
            source,
            old - split,
            start + split,
            len - split,
            false,
            proof,
        )?;
        proof.push(range_hash(source, start, split)?);
    }
    Ok(())
}

/// Checks that `leaf` is the leaf hash at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if index >= size {
        return Err(Error::Proof(format!(
            "index {index} is not below the tree size {size}"
        )));
    }
    let mut node_index = index;
    let mut last_index = size - 1;
    let mut hash = *leaf;
    for sibling in proof {
        if last_index == 0 {
            return Err(Error::Proof("inclusion proof is too long".into()));
        }
        if node_index & 1 == 1 || node_index == last_index {
            hash = node_hash(sibling, &hash);
            while node_index & 1 == 0 && node_index != 0 {
                node_index >>= 1;
                last_index >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        node_index >>= 1;
        last_index >>= 1;
    }
    if last_index != 0 {
        return Err(Error::Proof("inclusion proof is too short".into()));
    }
    if hash != *root {
        return Err(Error::Proof(format!(
            "inclusion proof of index {index} gives root {hash}, expected {root}"
        )));
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new` leaves
/// with root `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<()> {
    if old > new {
        return Err(Error::Proof(format!(
            "old size {old} is past the new size {new}"
        )));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(Error::Proof(
                "a proof between equal sizes must be empty".into(),
            ));
        }
        if old_root != new_root {
            return Err(Error::Proof(format!(
                "equal sizes {old} with different roots"
            )));
        }
        return Ok(());
    }
    if old == 0 {
        // Every tree extends the empty tree; there is nothing to prove.
        if !proof.is_empty() {
            return Err(Error::Proof(
                "a proof from the empty tree must be empty".into(),
            ));
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(Error::Proof("consistency proof is empty".into()));
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let mut node_index = old - 1;
    let mut last_index = new - 1;
    while node_index & 1 == 1 {
        node_index >>= 1;
        last_index >>= 1;
    }
    let mut old_hash = path[0];
    let mut new_hash = path[0];
    for sibling in &path[1..] {
        if last_index == 0 {
            return Err(Error::Proof("consistency proof is too long".into()));
        }
        if node_index & 1 == 1 || node_index == last_index {
            old_hash = node_hash(sibling, &old_hash);
            new_hash = node_hash(sibling, &new_hash);
            while node_index & 1 == 0 && node_index != 0 {
                node_index >>= 1;
                last_index >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, sibling);
        }
        node_index >>= 1;
        last_index >>= 1;
    }
    if last_index != 0 {
        return Err(Error::Proof("consistency proof is too short".into()));
    }
    if old_hash != *old_root {
        return Err(Error::Proof(format!(
            "consistency proof gives old root {old_hash}, expected {old_root}"
        )));
    }
    if new_hash != *new_root {
        return Err(Error::Proof(format!(
            "consistency proof gives new root {new_hash}, expected {new_root}"
        )));
    }
    Ok(())
}

/// Leaf hashes held in memory: the reference source for tests and for small trees.
#[cfg(test)]
pub(crate) struct MemoryTree(pub Vec<Hash>);

#[cfg(test)]
impl NodeSource for MemoryTree {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        let start = (index << level) as usize;
        let end = start + (1usize << level);
        Ok(crate::hash::merkle_root(&self.0[start..end]))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::hash::tests::vector_leaves;
    use crate::hash::{leaf_hash, merkle_root};

    fn vector_tree() -> MemoryTree {
        MemoryTree(vector_leaves().iter().map(|leaf| leaf_hash(leaf)).collect())
    }

    fn hashes(hexes: &[&str]) -> Vec<Hash> {
        hexes
            .iter()
            .map(|text| Hash::from_hex(text).expect("hex"))
            .collect()
    }

    /// Inclusion proofs of the transparency-dev/merkle test vectors (`proof/verify_test.go`), with
    /// 0-based indices.
    #[test]
    fn inclusion_proofs_match_the_test_vectors() {
        let cases: [(u64, u64, Vec<Hash>); 5] = [
            (0, 1, vec![]),
            (
                0,
                8,
                hashes(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                5,
                8,
                hashes(&[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                3,
                hashes(&["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            ),
            (
                1,
                5,
                hashes(&[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
        ];
        let mut tree = vector_tree();
        for (index, size, expected) in cases {
            let proof = inclusion_proof(&mut tree, index, size).expect("in range");
            assert_eq!(proof, expected, "index {index} size {size}");
            let root = merkle_root(&tree.0[..size as usize]);
            verify_inclusion(&tree.0[index as usize], index, size, &proof, &root)
                .expect("verifies");
        }
    }

    /// Consistency proofs of the same test vectors.
    #[test]
    fn consistency_proofs_match_the_test_vectors() {
        let cases: [(u64, u64, Vec<Hash>); 4] = [
            (1, 1, vec![]),
            (
                1,
                8,
                hashes(&[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]),
            ),
            (
                6,
                8,
                hashes(&[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]),
            ),
            (
                2,
                5,
                hashes(&[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]),
            ),
        ];
        let mut tree = vector_tree();
        for (old, new, expected) in cases {
            let proof = consistency_proof(&mut tree, old, new).expect("in range");
            assert_eq!(proof, expected, "{old} -> {new}");
            let old_root = merkle_root(&tree.0[..old as usize]);
            let new_root = merkle_root(&tree.0[..new as usize]);
            verify_consistency(old, new, &proof, &old_root, &new_root).expect("verifies");
        }
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let mut tree = vector_tree();
        assert!(matches!(
            inclusion_proof(&mut tree, 8, 8),
            Err(Error::Range(_))
        ));
        assert!(matches!(
            consistency_proof(&mut tree, 5, 4),
            Err(Error::Range(_))
        ));
        let root = merkle_root(&tree.0);
        assert!(verify_inclusion(&tree.0[0], 8, 8, &[], &root).is_err());
        assert!(verify_consistency(5, 4, &[], &root, &root).is_err());
        assert!(verify_consistency(3, 8, &[], &root, &root).is_err());
    }

    fn tree_of(size: usize) -> MemoryTree {
        MemoryTree(
            (0..size)
                .map(|index| leaf_hash(&(index as u64).to_be_bytes()))
                .collect(),
        )
    }

    proptest! {
        #[test]
        fn every_inclusion_proof_verifies_and_no_other_does(size in 1u64..300, index_seed in any::<u64>(), flip in any::<usize>()) {
            let mut tree = tree_of(size as usize);
            let index = index_seed % size;
            let root = merkle_root(&tree.0);
            let proof = inclusion_proof(&mut tree, index, size).expect("in range");
            let leaf = tree.0[index as usize];
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
            // Another index, a changed proof hash, or another leaf must fail.
            if size > 1 {
                let other = (index + 1) % size;
                prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
            }
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = flip % bad.len();
                bad[at].0[flip % 32] ^= 1;
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            }
            prop_assert!(verify_inclusion(&leaf_hash(b"other"), index, size, &proof, &root).is_err());
        }

        #[test]
        fn every_consistency_proof_verifies_and_no_other_does(new in 1u64..300, old_seed in any::<u64>(), flip in any::<usize>()) {
            let mut tree = tree_of(new as usize);
            let old = 1 + old_seed % new;
            let old_root = merkle_root(&tree.0[..old as usize]);
            let new_root = merkle_root(&tree.0);
            let proof = consistency_proof(&mut tree, old, new).expect("in range");
            prop_assert!(verify_consistency(old, new, &proof, &old_root, &new_root).is_ok());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let at = flip % bad.len();
                bad[at].0[flip % 32] ^= 1;
                prop_assert!(verify_consistency(old, new, &bad, &old_root, &new_root).is_err());
            }
            if old < new {
                prop_assert!(verify_consistency(old, new, &proof, &new_root, &new_root).is_err()
                    || old_root == new_root);
            }
        }

        #[test]
        fn range_hash_matches_the_reference(size in 1u64..600) {
            let mut tree = tree_of(size as usize);
            let reference = merkle_root(&tree.0);
            prop_assert_eq!(range_hash(&mut tree, 0, size).expect("complete"), reference);
        }
    }
}
