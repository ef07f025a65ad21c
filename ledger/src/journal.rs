//! The journal: where appends become durable before their tiles are written.
//!
//! Each group commit appends one or more batches and then one fsync. A batch is a 52-byte header
//! (magic `RCJ1`, first entry index u64 LE, entry count u32 LE, payload length u32 LE, and a
//! digest) and the payload: the entries in entry bundle encoding (u16 big-endian length, bytes).
//! The digest is SHA-256 of the first 20 header bytes followed by the RFC 6962 leaf hash of each
//! entry: the append computes those leaf hashes anyway, so the digest costs half a SHA-256 block
//! per entry instead of hashing every byte a second time. The journal is emptied after each published
//! checkpoint, so it only ever holds entries that no checkpoint covers yet.
//!
//! A crash can leave a torn last batch: cut short, or with a digest that does not match. That batch
//! was never acknowledged, so [`scan`] reports where the valid prefix ends and the log truncates the
//! rest. A bad batch followed by a valid one cannot come from a crash: that is corruption, and an
//! error.

use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};
use crate::tile::MAX_ENTRY_LEN;

const MAGIC: &[u8; 4] = b"RCJ1";
/// The length of a batch header.
pub(crate) const HEADER_LEN: usize = 52;
/// Batches larger than this are split, so a payload length always fits its u32.
pub(crate) const MAX_PAYLOAD: usize = 64 << 20;

/// One valid batch found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub first_index: u64,
    pub count: u32,
    pub payload: Range<usize>,
}

/// What [`scan`] found: the valid batches, and the length of the valid prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub batches: Vec<Batch>,
    pub valid_len: usize,
}

/// Encodes one batch of entries (already checked to be at most [`MAX_ENTRY_LEN`]), whose leaf
/// hashes are `leaves`, onto `out`.
pub(crate) fn encode_batch(
    out: &mut Vec<u8>,
    first_index: u64,
    entries: &[&[u8]],
    leaves: &[Hash],
) {
    debug_assert_eq!(entries.len(), leaves.len());
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&first_index.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4 + 32]);
    for entry in entries {
        debug_assert!(entry.len() <= MAX_ENTRY_LEN);
        out.extend_from_slice(&(entry.len() as u16).to_be_bytes());
        out.extend_from_slice(entry);
    }
    let payload_len = out.len() - start - HEADER_LEN;
    out[start + 16..start + 20].copy_from_slice(&(payload_len as u32).to_le_bytes());
    let mut hasher = Sha256::new();
    hasher.update(&out[start..start + 20]);
    for leaf in leaves {
        hasher.update(leaf.0);
    }
    let digest: [u8; 32] = hasher.finalize().into();
    out[start + 20..start + HEADER_LEN].copy_from_slice(&digest);
}

/// Walks the journal. Errors only on corruption that a crash cannot explain.
pub(crate) fn scan(bytes: &[u8]) -> Result<Scan> {
    let mut batches = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        match batch_at(bytes, offset) {
            Some(batch) => {
                if let Some(previous) = batches.last() {
                    let previous: &Batch = previous;
                    if batch.first_index != previous.first_index + u64::from(previous.count) {
                        return Err(Error::corrupt(
                            "journal",
                            format!(
                                "batch at byte {offset} starts at entry {} after a gap",
                                batch.first_index
                            ),
                        ));
                    }
                }
                offset = batch.payload.end;
                batches.push(batch);
            }
            None => {
                if let Some(later) =
                    (offset + 1..bytes.len()).find(|&at| batch_at(bytes, at).is_some())
                {
                    return Err(Error::corrupt(
                        "journal",
                        format!(
                            "bad batch at byte {offset} is followed by a valid batch at byte {later}"
                        ),
                    ));
                }
                break;
            }
        }
    }
    Ok(Scan {
        batches,
        valid_len: offset,
    })
}

/// The entries of a batch found by [`scan`].
pub(crate) fn batch_entries<'a>(bytes: &'a [u8], batch: &Batch) -> Result<Vec<&'a [u8]>> {
    // The same encoding as an entry bundle, without its 256-entry limit. The digest matched, so a
    // payload that does not decode was written that way: corruption.
    let payload = &bytes[batch.payload.clone()];
    // Each entry takes at least its 2-byte length: a larger count is corruption, and must not
    // size an allocation (found by fuzzing: a count of 800 million with an empty payload).
    if batch.count as usize > payload.len() / 2 {
        return Err(Error::corrupt(
            "journal",
            format!(
                "batch of entry {} claims {} entries in {} bytes",
                batch.first_index,
                batch.count,
                payload.len()
            ),
        ));
    }
    let mut entries = Vec::with_capacity(batch.count as usize);
    let mut rest = payload;
    while !rest.is_empty() {
        if rest.len() < 2 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            break;
        }
        entries.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    if !rest.is_empty() || entries.len() != batch.count as usize {
        return Err(Error::corrupt(
            "journal",
            format!(
                "batch of entry {} does not hold {} entries",
                batch.first_index, batch.count
            ),
        ));
    }
    Ok(entries)
}

fn batch_at(bytes: &[u8], offset: usize) -> Option<Batch> {
    let header = bytes.get(offset..offset + HEADER_LEN)?;
    if &header[..4] != MAGIC {
        return None;
    }
    let first_index = u64::from_le_bytes(header[4..12].try_into().ok()?);
    let count = u32::from_le_bytes(header[12..16].try_into().ok()?);
    let payload_len = u32::from_le_bytes(header[16..20].try_into().ok()?) as usize;
    let start = offset + HEADER_LEN;
    let payload = bytes.get(start..start.checked_add(payload_len)?)?;
    if batch_digest(&header[..20], payload, count)?[..] != header[20..HEADER_LEN] {
        return None;
    }
    Some(Batch {
        first_index,
        count,
        payload: start..start + payload_len,
    })
}

/// The digest of a batch, or `None` when its payload is not exactly `count` entries.
fn batch_digest(header: &[u8], payload: &[u8], count: u32) -> Option<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(header);
    let mut rest = payload;
    let mut entries = 0u32;
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let entry = rest.get(2..2 + len)?;
        hasher.update(leaf_hash(entry).0);
        rest = &rest[2 + len..];
        entries = entries.checked_add(1)?;
    }
    (entries == count).then(|| hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(batches: &[(u64, &[&[u8]])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (first, entries) in batches {
            let leaves: Vec<Hash> = entries.iter().map(|entry| leaf_hash(entry)).collect();
            encode_batch(&mut out, *first, entries, &leaves);
        }
        out
    }

    #[test]
    fn valid_batches_are_found_in_order() {
        let bytes = journal(&[(0, &[b"a", b"bc"]), (2, &[b""]), (3, &[b"def"])]);
        let scan = scan(&bytes).expect("valid");
        assert_eq!(scan.valid_len, bytes.len());
        assert_eq!(scan.batches.len(), 3);
        assert_eq!(
            batch_entries(&bytes, &scan.batches[0]).expect("decodes"),
            vec![&b"a"[..], &b"bc"[..]]
        );
    }

    #[test]
    fn every_torn_tail_is_cut_at_the_last_whole_batch() {
        let bytes = journal(&[(0, &[b"first"]), (1, &[b"second", b"third"])]);
        let first_end = scan(&bytes).expect("valid").batches[0].payload.end;
        for cut in first_end..bytes.len() {
            let scan = scan(&bytes[..cut]).expect("a torn tail is not an error");
            assert_eq!(scan.valid_len, first_end, "cut at {cut}");
            assert_eq!(scan.batches.len(), 1);
        }
        // A torn write may also leave garbage of the full length.
        let mut garbage = bytes.clone();
        let last = garbage.len() - 1;
        garbage[last] ^= 0xff;
        assert_eq!(scan(&garbage).expect("torn").valid_len, first_end);
    }

    #[test]
    fn a_bad_batch_before_a_good_one_is_corruption() {
        let mut bytes = journal(&[(0, &[b"first"]), (1, &[b"second"])]);
        bytes[HEADER_LEN + 3] ^= 1;
        assert!(matches!(scan(&bytes), Err(Error::Corrupt { .. })));
    }

    /// Regression (fuzzing, ledger_tiles): a batch whose digest matched the header but whose count
    /// was 800 million with an empty payload made the decoder allocate 12 GB. The digest now
    /// covers each entry, so such a batch is invalid, and the decoder bounds its allocation anyway.
    #[test]
    fn an_impossible_entry_count_is_refused_without_an_allocation() {
        let mut bytes = journal(&[(0, &[])]);
        bytes[12..16].copy_from_slice(&792_997_936u32.to_le_bytes());
        let digest: [u8; 32] = Sha256::digest(&bytes[..20]).into();
        bytes[20..HEADER_LEN].copy_from_slice(&digest);
        let scan = scan(&bytes).expect("a bad last batch is a torn tail");
        assert_eq!((scan.batches.len(), scan.valid_len), (0, 0));
        let forged = Batch {
            first_index: 0,
            count: 792_997_936,
            payload: HEADER_LEN..HEADER_LEN,
        };
        assert!(matches!(
            batch_entries(&bytes, &forged),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn a_gap_between_batches_is_corruption() {
        let bytes = journal(&[(0, &[b"first"]), (5, &[b"second"])]);
        assert!(matches!(scan(&bytes), Err(Error::Corrupt { .. })));
    }
}
