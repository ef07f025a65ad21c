//! C2SP tlog-checkpoint: the body of the note that the log signs.
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! [extension lines]
//! ```

use crate::error::{Error, Result};
use crate::hash::Hash;

/// A checkpoint: the log's origin, a tree size and the root of that tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, conventionally a schema-less URL; also the name of the log's key.
    pub origin: String,
    /// The number of entries in the tree.
    pub size: u64,
    /// The root hash of the tree of `size` entries.
    pub root: Hash,
    /// Optional extension lines, kept as they were (without their newlines).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: three lines and any extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses the note text of a checkpoint.
    pub fn parse(text: &str) -> Result<Checkpoint> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| Error::malformed("checkpoint", "does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(Error::malformed("checkpoint", "origin line is empty"));
        }
        let size_line = lines
            .next()
            .ok_or_else(|| Error::malformed("checkpoint", "no size line"))?;
        let size = parse_decimal(size_line).ok_or_else(|| {
            Error::malformed(
                "checkpoint",
                format!("size {size_line:?} is not a decimal without leading zeros"),
            )
        })?;
        let root_line = lines
            .next()
            .ok_or_else(|| Error::malformed("checkpoint", "no root line"))?;
        let root = Hash::from_base64(root_line)
            .map_err(|_| Error::malformed("checkpoint", "root is not the base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Error::malformed("checkpoint", "empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// An unsigned decimal with no sign and no leading zeros.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example checkpoint of the C2SP tlog-checkpoint and tlog-cosignature specifications.
    const SPEC_EXAMPLE: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_spec_example_round_trips() {
        let checkpoint = Checkpoint::parse(SPEC_EXAMPLE).expect("parses");
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20852163);
        assert_eq!(checkpoint.to_text(), SPEC_EXAMPLE);
    }

    #[test]
    fn extension_lines_are_kept() {
        let text = format!("{SPEC_EXAMPLE}extra line\n");
        let checkpoint = Checkpoint::parse(&text).expect("parses");
        assert_eq!(checkpoint.extensions, vec!["extra line".to_owned()]);
        assert_eq!(checkpoint.to_text(), text);
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        for bad in [
            "",
            "origin\n",
            "origin\n12\n",
            "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n99999999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
