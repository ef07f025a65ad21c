//! RFC 6962 hashing: SHA-256 with a 0x00 prefix for leaves and 0x01 for interior nodes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A SHA-256 hash: a leaf hash, an interior node or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The length of a hash in bytes.
    pub const LEN: usize = 32;

    /// Lower-case hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Hash> {
        let bytes = hex_decode(text).ok_or_else(|| Error::malformed("hash", "not hexadecimal"))?;
        Hash::from_slice(&bytes)
    }

    /// Standard base64 with padding, as in checkpoints.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash> {
        let bytes = BASE64
            .decode(text)
            .map_err(|error| Error::malformed("hash", format!("bad base64: {error}")))?;
        Hash::from_slice(&bytes)
    }

    /// Copies 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::malformed("hash", format!("{} bytes, expected 32", bytes.len())))?;
        Ok(Hash(array))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

/// The hash of a leaf: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 1;
    block[1..33].copy_from_slice(&left.0);
    block[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(block).into())
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The Merkle tree hash (RFC 6962 MTH) of a list of leaf hashes, computed directly. Used for the
/// hashes inside one tile, and by tests as the reference.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let split = largest_power_of_two_below(n as u64) as usize;
            node_hash(
                &merkle_root(&leaves[..split]),
                &merkle_root(&leaves[split..]),
            )
        }
    }
}

/// The largest power of two strictly less than `n` (n ≥ 2).
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The leaves of the RFC 6962 test vectors used by certificate-transparency-go and
    /// transparency-dev/merkle (`testonly/constants.go`).
    pub(crate) fn vector_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|text| hex_decode(text).expect("test vector is hex"))
        .collect()
    }

    /// The roots of the first 1..=8 leaves, from the same test vectors.
    pub(crate) const VECTOR_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn roots_match_the_rfc6962_test_vectors() {
        let leaves: Vec<Hash> = vector_leaves()
            .iter()
            .map(|entry| leaf_hash(entry))
            .collect();
        for (size, expected) in (1..=8).zip(VECTOR_ROOTS) {
            assert_eq!(
                merkle_root(&leaves[..size]).to_hex(),
                expected,
                "size {size}"
            );
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_and_base64_round_trip() {
        let hash = leaf_hash(b"roadcode");
        assert_eq!(Hash::from_hex(&hash.to_hex()).expect("hex parses"), hash);
        assert_eq!(
            Hash::from_base64(&hash.to_base64()).expect("base64 parses"),
            hash
        );
        assert!(Hash::from_hex("abc").is_err());
        assert!(Hash::from_base64("AAAA").is_err());
    }

    #[test]
    fn largest_power_of_two_below_is_strict() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(1 << 40), 1 << 39);
    }
}
