//! C2SP tlog-tiles: tile paths, hash tiles and entry bundles.
//!
//! A tile at level L holds up to 256 consecutive hashes of tree level 8·L: level 0 holds leaf
//! hashes, level 1 the roots of 256-leaf subtrees, and so on. Tile N of a level holds the hashes
//! N·256 … N·256+255. A full tile lives at `tile/<L>/<N>`; a partial tile of W < 256 hashes at
//! `tile/<L>/<N>.p/<W>`. N is written in groups of three digits, all but the last prefixed by `x`:
//! tile 1234067 is `x001/x234/067`. Entry bundle N (`tile/entries/<N>[.p/<W>]`) holds the entries
//! whose leaf hashes are in level-0 tile N, each as a big-endian u16 length and the bytes.

use crate::error::{Error, Result};
use crate::hash::Hash;

/// The height of a tile: each holds 2^8 hashes.
pub const TILE_HEIGHT: u32 = 8;
/// The number of hashes in a full tile, and of entries in a full bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// The largest entry: its length must fit the u16 length prefix of an entry bundle.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// Which tiles a path names: hash tiles of a level, or entry bundles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// Hash tiles of level L (tree level 8·L).
    Hashes(u8),
    /// Entry bundles.
    Entries,
}

/// One tile: its kind, its index N and its width W (256 for a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileId {
    /// Hash tile level or entry bundle.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// How many hashes or entries it holds, 1..=256.
    pub width: u64,
}

impl TileId {
    /// The path of the tile, relative to the log's root: `tile/0/x001/234.p/17`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(level) => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", index_path(self.index));
        if self.width < TILE_WIDTH {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a tile path, refusing any non-canonical spelling.
    pub fn parse(path: &str) -> Result<TileId> {
        let bad = |reason: &str| Error::malformed("tile path", format!("{path:?}: {reason}"));
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("does not start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or_else(|| bad("no level"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            match crate::checkpoint::parse_decimal(level) {
                Some(level) if level < 64 => TileKind::Hashes(level as u8),
                _ => return Err(bad("level is not a small decimal")),
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, width)) => match crate::checkpoint::parse_decimal(width) {
                Some(width) if (1..TILE_WIDTH).contains(&width) => (index_part, width),
                _ => return Err(bad("partial width is not 1..=255")),
            },
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (position, group) in groups.iter().enumerate() {
            let last = position + 1 == groups.len();
            let digits = if last {
                *group
            } else {
                group
                    .strip_prefix('x')
                    .ok_or_else(|| bad("group lacks x"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index group is not three digits"));
            }
            let value: u64 = digits
                .parse()
                .map_err(|_| bad("index group is not a number"))?;
            index = index
                .checked_mul(1000)
                .and_then(|index| index.checked_add(value))
                .ok_or_else(|| bad("index overflows"))?;
        }
        let id = TileId { kind, index, width };
        if id.path() != path {
            return Err(bad("not the canonical spelling"));
        }
        Ok(id)
    }
}

/// `1234067` → `x001/x234/067`.
fn index_path(index: u64) -> String {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(position, group)| {
            if position < last {
                format!("x{group:03}")
            } else {
                format!("{group:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Appends one entry to an entry bundle being built.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<()> {
    if entry.len() > MAX_ENTRY_LEN {
        return Err(Error::EntryTooLarge {
            len: entry.len(),
            max: MAX_ENTRY_LEN,
        });
    }
    bundle.extend_from_slice(&(entry.len() as u16).to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(Error::malformed(
                "entry bundle",
                format!("entry {} has a cut length", entries.len()),
            ));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(Error::malformed(
                "entry bundle",
                format!("entry {} is cut short", entries.len()),
            ));
        }
        entries.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
        if entries.len() as u64 > TILE_WIDTH {
            return Err(Error::malformed("entry bundle", "more than 256 entries"));
        }
    }
    Ok(entries)
}

/// Splits a hash tile into its hashes.
pub fn decode_hash_tile(bytes: &[u8]) -> Result<Vec<Hash>> {
    if !bytes.len().is_multiple_of(Hash::LEN) || bytes.len() as u64 > TILE_WIDTH * Hash::LEN as u64
    {
        return Err(Error::malformed(
            "hash tile",
            format!("{} bytes is not 1..=256 hashes", bytes.len()),
        ));
    }
    bytes
        .chunks_exact(Hash::LEN)
        .map(Hash::from_slice)
        .collect()
}

/// Concatenates hashes into the bytes of a hash tile.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(hashes.len() * Hash::LEN);
    for hash in hashes {
        bytes.extend_from_slice(&hash.0);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn paths_follow_the_spec_examples() {
        let id = |kind, index, width| TileId { kind, index, width };
        assert_eq!(
            id(TileKind::Hashes(0), 1234067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(
            id(TileKind::Hashes(0), 1234067, 8).path(),
            "tile/0/x001/x234/067.p/8"
        );
        assert_eq!(id(TileKind::Hashes(1), 5, 256).path(), "tile/1/005");
        assert_eq!(
            id(TileKind::Entries, 1000, 256).path(),
            "tile/entries/x001/000"
        );
        assert_eq!(id(TileKind::Entries, 0, 1).path(), "tile/entries/000.p/1");
    }

    #[test]
    fn non_canonical_paths_are_rejected() {
        for bad in [
            "tile/0/1234067",
            "tile/0/x001/x234/67",
            "tile/0/001/234",
            "tile/00/005",
            "tile/0/005.p/0",
            "tile/0/005.p/256",
            "tile/0/005.p/08",
            "tile/x/005",
            "tiles/0/005",
            "tile/0/x000/005",
        ] {
            assert!(TileId::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn bundles_reject_cut_entries() {
        let mut bundle = Vec::new();
        push_bundle_entry(&mut bundle, b"hello").expect("small");
        push_bundle_entry(&mut bundle, b"").expect("small");
        assert_eq!(
            decode_bundle(&bundle).expect("decodes"),
            vec![&b"hello"[..], &b""[..]]
        );
        assert!(decode_bundle(&bundle[..3]).is_err());
        assert!(decode_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(matches!(
            push_bundle_entry(&mut bundle, &vec![0; 65536]),
            Err(Error::EntryTooLarge { .. })
        ));
        assert!(decode_hash_tile(&[0; 33]).is_err());
    }

    proptest! {
        #[test]
        fn paths_round_trip(level in 0u8..6, entries: bool, index in any::<u64>(), width in 1u64..=256) {
            let kind = if entries { TileKind::Entries } else { TileKind::Hashes(level) };
            let id = TileId { kind, index, width };
            prop_assert_eq!(TileId::parse(&id.path()).expect("own paths parse"), id);
        }

        #[test]
        fn bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..40)) {
            let mut bundle = Vec::new();
            for entry in &entries {
                push_bundle_entry(&mut bundle, entry).expect("small");
            }
            let decoded = decode_bundle(&bundle).expect("decodes");
            prop_assert_eq!(decoded, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        }
    }
}
