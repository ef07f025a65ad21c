//! Offline verification of a log directory: recompute every hash from the entries and compare it
//! with the tiles and the signed checkpoint. Needs only the files and the log's public key.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::hash::{Hash, empty_root, leaf_hash, merkle_root};
use crate::journal;
use crate::log::{JOURNAL_FILE, build_upper, read_checkpoint, read_file};
use crate::note::VerifierKey;
use crate::proof::{self, NodeSource};
use crate::tile::{
    TILE_HEIGHT, TILE_WIDTH, TileId, TileKind, decode_bundle, decode_hash_tile, encode_hash_tile,
};

/// What [`verify_dir`] checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root, recomputed from the entries.
    #[serde(serialize_with = "hex")]
    pub root: Hash,
    /// How many tile and bundle files were read (partial tiles included).
    pub tiles: u64,
    /// Signature lines on the checkpoint besides the log's own (witness cosignatures, unchecked here).
    pub cosignatures: usize,
    /// Entries in the journal past the checkpoint (durable, not yet published).
    pub unpublished: u64,
    /// Bytes of a torn journal tail that the next open will cut.
    pub torn_bytes: u64,
}

fn hex<S: serde::Serializer>(hash: &Hash, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&hash.to_hex())
}

/// Verifies the log in `dir` against the log key `key`: the checkpoint's signature; every entry
/// against its leaf hash; every hash tile (full and partial, at every level) against the hashes
/// recomputed from the level below; the checkpoint's root; and the journal's structure. The error
/// names the first bad file and, where there is one, the entry index.
pub fn verify_dir(dir: &Path, key: &VerifierKey) -> Result<Report> {
    let note = read_checkpoint(dir, key)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    let size = checkpoint.size;
    let cosignatures = note
        .signatures()
        .iter()
        .filter(|signature| !key.matches(signature))
        .count();

    // Level 0, in parallel: each tile's entries hash to the tile's hashes.
    let tiles0 = size.div_ceil(TILE_WIDTH);
    // Each full tile is reduced to its root at once, so memory stays at one hash per tile.
    let checked: Vec<Result<(Level0, u64)>> = (0..tiles0)
        .into_par_iter()
        .map(|index| {
            let (hashes, files) = check_level0(dir, size, index)?;
            if hashes.len() as u64 == TILE_WIDTH {
                Ok((Level0::Full(merkle_root(&hashes)), files))
            } else {
                Ok((Level0::Partial(hashes), files))
            }
        })
        .collect();
    let mut level8 = Vec::with_capacity(checked.len());
    let mut partial = Vec::new();
    let mut tiles = 0;
    for result in checked {
        let (reduced, files) = result?;
        tiles += files;
        match reduced {
            Level0::Full(root) => level8.push(root),
            Level0::Partial(leaves) => partial = leaves,
        }
    }

    // Levels 1 and up: each tile holds the nodes recomputed from below.
    let upper = build_upper(level8);
    let mut level = 1u8;
    while (size >> (TILE_HEIGHT * u32::from(level))) > 0 {
        let expected = &upper[usize::from(level - 1) * TILE_HEIGHT as usize];
        let count = expected.len() as u64;
        for index in 0..count.div_ceil(TILE_WIDTH) {
            let width = (count - index * TILE_WIDTH).min(TILE_WIDTH);
            let start = (index * TILE_WIDTH) as usize;
            let want = encode_hash_tile(&expected[start..start + width as usize]);
            let id = TileId {
                kind: TileKind::Hashes(level),
                index,
                width,
            };
            let bytes = read_file(&dir.join(id.path()))?;
            if let Err(error) = decode_hash_tile(&bytes) {
                return Err(Error::corrupt(id.path(), error.to_string()));
            }
            if bytes != want {
                let at = first_difference(&bytes, &want) / Hash::LEN;
                return Err(Error::corrupt(
                    id.path(),
                    format!("hash {at} does not match the tree recomputed from the tiles below"),
                ));
            }
            tiles += 1 + check_partials(dir, id, &want, Hash::LEN)?;
        }
        level += 1;
    }

    let root = if size == 0 {
        empty_root()
    } else {
        let mut nodes = VerifiedNodes {
            upper: &upper,
            partial: &partial,
            partial_start: size / TILE_WIDTH * TILE_WIDTH,
        };
        proof::range_hash(&mut nodes, 0, size)?
    };
    if root != checkpoint.root {
        return Err(Error::corrupt(
            "checkpoint",
            format!(
                "root {} does not match the root {root} recomputed from the entries",
                checkpoint.root
            ),
        ));
    }

    let (unpublished, torn_bytes) = check_journal(dir, size)?;
    Ok(Report {
        size,
        root,
        tiles,
        cosignatures,
        unpublished,
        torn_bytes,
    })
}

/// What a checked level-0 tile leaves for the levels above.
enum Level0 {
    /// A full tile: the root of its 256 leaves (a node of tree level 8).
    Full(Hash),
    /// The partial last tile: its leaf hashes.
    Partial(Vec<Hash>),
}

/// Checks level-0 tile `index` and its entry bundle; returns its leaf hashes and the files read.
fn check_level0(dir: &Path, size: u64, index: u64) -> Result<(Vec<Hash>, u64)> {
    let width = (size - index * TILE_WIDTH).min(TILE_WIDTH);
    let bundle_id = TileId {
        kind: TileKind::Entries,
        index,
        width,
    };
    let bundle = read_file(&dir.join(bundle_id.path()))?;
    let entries = decode_bundle(&bundle)
        .map_err(|error| Error::corrupt(bundle_id.path(), error.to_string()))?;
    if entries.len() as u64 != width {
        return Err(Error::corrupt(
            bundle_id.path(),
            format!("holds {} entries, expected {width}", entries.len()),
        ));
    }
    let hashes: Vec<Hash> = entries.iter().map(|entry| leaf_hash(entry)).collect();
    let tile_id = TileId {
        kind: TileKind::Hashes(0),
        index,
        width,
    };
    let tile = read_file(&dir.join(tile_id.path()))?;
    let want = encode_hash_tile(&hashes);
    if tile != want {
        if tile.len() != want.len() {
            return Err(Error::corrupt(
                tile_id.path(),
                format!("is {} bytes, expected {}", tile.len(), want.len()),
            ));
        }
        let position = (first_difference(&tile, &want) / Hash::LEN) as u64;
        return Err(Error::corrupt(
            bundle_id.path(),
            format!(
                "entry {} does not match its leaf hash in {}",
                index * TILE_WIDTH + position,
                tile_id.path()
            ),
        ));
    }
    let mut files = 2;
    files += check_partials(dir, tile_id, &want, Hash::LEN)?;
    files += check_partials(dir, bundle_id, &bundle, 0)?;
    Ok((hashes, files))
}

/// Older partial versions of a tile (`<path>.p/<W>`) must be prefixes of it. Versions wider than
/// the checkpoint covers may belong to a checkpoint being published and are skipped.
/// `item_len` is the size of one hash, or 0 for an entry bundle (whose prefix is found by decoding).
fn check_partials(dir: &Path, id: TileId, full: &[u8], item_len: usize) -> Result<u64> {
    let full_id = TileId {
        width: TILE_WIDTH,
        ..id
    };
    let partial_dir = dir.join(format!("{}.p", full_id.path()));
    let Ok(listing) = std::fs::read_dir(&partial_dir) else {
        return Ok(0);
    };
    let mut checked = 0;
    for item in listing {
        let item = item.map_err(|error| Error::io("list", &partial_dir, error))?;
        let name = item.file_name();
        let Some(width) = name.to_str().and_then(crate::checkpoint::parse_decimal) else {
            continue;
        };
        if width >= id.width || width == 0 {
            continue;
        }
        let path = TileId { width, ..full_id }.path();
        let bytes = read_file(&dir.join(&path))?;
        let want_len = if item_len > 0 {
            width as usize * item_len
        } else {
            bundle_prefix_len(full, width as usize)
        };
        if bytes.as_slice() != &full[..want_len.min(full.len())] {
            return Err(Error::corrupt(
                path,
                "partial tile is not a prefix of the tile",
            ));
        }
        checked += 1;
    }
    Ok(checked)
}

fn bundle_prefix_len(bundle: &[u8], count: usize) -> usize {
    let mut offset = 0;
    for _ in 0..count {
        if offset + 2 > bundle.len() {
            return bundle.len();
        }
        offset += 2 + usize::from(u16::from_be_bytes([bundle[offset], bundle[offset + 1]]));
    }
    offset.min(bundle.len())
}

fn first_difference(left: &[u8], right: &[u8]) -> usize {
    left.iter()
        .zip(right)
        .position(|(a, b)| a != b)
        .unwrap_or(left.len().min(right.len()))
}

fn check_journal(dir: &Path, size: u64) -> Result<(u64, u64)> {
    let path = dir.join(JOURNAL_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(error) => return Err(Error::io("read", &path, error)),
    };
    let scan = journal::scan(&bytes)?;
    let mut unpublished = 0;
    let mut expected = None;
    for batch in &scan.batches {
        if expected.is_none() && batch.first_index > size {
            return Err(Error::corrupt(
                JOURNAL_FILE,
                format!(
                    "starts at entry {} past the checkpoint size {size}",
                    batch.first_index
                ),
            ));
        }
        expected = Some(batch.first_index + u64::from(batch.count));
        journal::batch_entries(&bytes, batch)?;
        let end = batch.first_index + u64::from(batch.count);
        unpublished += end.saturating_sub(batch.first_index.max(size));
    }
    Ok((unpublished, (bytes.len() - scan.valid_len) as u64))
}

struct VerifiedNodes<'a> {
    upper: &'a [Vec<Hash>],
    partial: &'a [Hash],
    partial_start: u64,
}

impl NodeSource for VerifiedNodes<'_> {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        let missing = || Error::Range(format!("no node at level {level} index {index}"));
        if level >= TILE_HEIGHT {
            return self
                .upper
                .get((level - TILE_HEIGHT) as usize)
                .and_then(|level| level.get(index as usize))
                .copied()
                .ok_or_else(missing);
        }
        let first = (index << level)
            .checked_sub(self.partial_start)
            .ok_or_else(missing)? as usize;
        self.partial
            .get(first..first + (1 << level))
            .map(merkle_root)
            .ok_or_else(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TestDir;
    use crate::log::{Durability, Log, Options};

    /// Flips bytes all over every file that verification reads: each flip must be reported.
    #[test]
    fn a_flipped_byte_in_any_tile_bundle_or_checkpoint_is_reported() {
        let dir = TestDir::new("flips");
        let mut log = Log::create(
            &dir.0,
            "test.example/log",
            Options {
                durability: Durability::NoSync,
            },
        )
        .expect("create");
        // A full tile, a partial tile with an older partial version beside it, and a level-1 tile.
        for (start, end) in [(0u32, 258u32), (258, 260)] {
            let entries: Vec<Vec<u8>> =
                (start..end).map(|i| format!("e{i}").into_bytes()).collect();
            log.append(&entries).expect("append");
            log.publish().expect("publish");
        }
        let key = log.verifier();
        verify_dir(&dir.0, &key).expect("the untouched log verifies");

        let mut files = vec![dir.0.join("checkpoint")];
        let mut stack = vec![dir.0.join("tile")];
        while let Some(path) = stack.pop() {
            for item in std::fs::read_dir(&path).expect("list") {
                let path = item.expect("item").path();
                if path.is_dir() {
                    stack.push(path)
                } else {
                    files.push(path)
                }
            }
        }
        assert!(
            files.len() == 8,
            "tiles, bundles, partials and the checkpoint: {files:?}"
        );
        for file in files {
            let original = std::fs::read(&file).expect("read");
            // Every byte of the small files; of the 8 KiB tiles, the first and last hash and
            // every 13th byte between (each byte of a tile is part of one hash, checked alike).
            let positions: Vec<usize> = if original.len() <= 4096 {
                (0..original.len()).collect()
            } else {
                (0..original.len())
                    .filter(|&at| at < 32 || at >= original.len() - 32 || at % 13 == 0)
                    .collect()
            };
            for position in positions {
                let mut changed = original.clone();
                changed[position] ^= 0x20;
                std::fs::write(&file, &changed).expect("write");
                assert!(
                    verify_dir(&dir.0, &key).is_err(),
                    "flip at byte {position} of {} not reported",
                    file.display()
                );
            }
            std::fs::write(&file, &original).expect("restore");
        }
        verify_dir(&dir.0, &key).expect("restored");
    }

    #[test]
    fn the_error_names_the_first_bad_entry() {
        let dir = TestDir::new("names");
        let mut log = Log::create(
            &dir.0,
            "test.example/log",
            Options {
                durability: Durability::NoSync,
            },
        )
        .expect("create");
        log.append(
            &(0..600u32)
                .map(|i| format!("e{i:03}").into_bytes())
                .collect::<Vec<_>>(),
        )
        .expect("append");
        log.publish().expect("publish");
        let bundle = dir.0.join("tile/entries/001");
        let mut bytes = std::fs::read(&bundle).expect("read");
        // Entry 256 + 7 starts at 7 * (2 + 4) + 2 within its bundle.
        bytes[7 * 6 + 3] ^= 1;
        std::fs::write(&bundle, bytes).expect("write");
        let error = verify_dir(&dir.0, &log.verifier())
            .expect_err("reported")
            .to_string();
        assert!(
            error.contains("tile/entries/001") && error.contains("entry 263"),
            "{error}"
        );
    }
}
