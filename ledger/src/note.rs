//! C2SP signed-note: notes, Ed25519 signer and verifier keys, key files.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
//! `— <key name> <base64(4-byte key id || signature)>`. A key id is the first four bytes of
//! SHA-256(key name || "\n" || signature type || public key). Type 0x01 is an Ed25519 note signature
//! (the log's checkpoint signature); type 0x04 is an Ed25519 cosignature (`cosignature/v1`, see
//! [`crate::witness`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hash::{hex_decode, hex_encode};

/// The largest note accepted by [`Note::parse`]: notes are small; this bounds a hostile input.
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// The most signatures accepted on one note.
pub const MAX_SIGNATURES: usize = 100;

/// What a key signs, which is its signature type byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// An Ed25519 note signature (type 0x01): the log's key, signing checkpoints.
    Note,
    /// An Ed25519 `cosignature/v1` (type 0x04): a witness's key.
    Cosignature,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            KeyKind::Note => 0x01,
            KeyKind::Cosignature => 0x04,
        }
    }

    fn from_type_byte(byte: u8) -> Result<KeyKind> {
        match byte {
            0x01 => Ok(KeyKind::Note),
            0x04 => Ok(KeyKind::Cosignature),
            other => Err(Error::malformed(
                "key",
                format!("unsupported signature type 0x{other:02x}"),
            )),
        }
    }
}

/// A private key with its name: signs notes (or cosignatures, by its kind).
///
/// Its text form is `PRIVATE+KEY+<name>+<key id hex>+<base64(type || 32-byte seed)>`.
pub struct SignerKey {
    name: String,
    kind: KeyKind,
    key_id: [u8; 4],
    signing: SigningKey,
}

/// A public key with its name: verifies notes (or cosignatures, by its kind).
///
/// Its text form (a "vkey") is `<name>+<key id hex>+<base64(type || 32-byte public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    kind: KeyKind,
    key_id: [u8; 4],
    verifying: VerifyingKey,
}

/// One signature line of a note, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: [u8; 4],
    /// The signature bytes after the key id (64 for a note signature, 72 for a cosignature).
    pub signature: Vec<u8>,
}

/// A signed note: text and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    // Invariant: valid note text (see `check_text`).
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignerKey {
    /// A new random key named `name`.
    pub fn generate(name: &str, kind: KeyKind) -> Result<SignerKey> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|error| Error::Signature(format!("no randomness for a new key: {error}")))?;
        Ok(SignerKey::from_seed(name, kind, seed))
    }

    fn from_seed(name: &str, kind: KeyKind, seed: [u8; 32]) -> SignerKey {
        let signing = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, kind, signing.verifying_key().as_bytes());
        SignerKey {
            name: name.to_owned(),
            kind,
            key_id,
            signing,
        }
    }

    /// Parses the text form `PRIVATE+KEY+<name>+<hex id>+<base64>`.
    pub fn parse(text: &str) -> Result<SignerKey> {
        let text = text.trim_end_matches('\n');
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| Error::malformed("signer key", "does not start with PRIVATE+KEY+"))?;
        let (name, id_hex, material) = split_key(rest, "signer key")?;
        let (kind, seed) = key_material(material, "signer key")?;
        let key = SignerKey::from_seed(name, kind, seed);
        if hex_encode(&key.key_id) != id_hex {
            return Err(Error::malformed(
                "signer key",
                "key id does not match the key",
            ));
        }
        Ok(key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            kind: self.kind,
            key_id: self.key_id,
            verifying: self.signing.verifying_key(),
        }
    }

    /// The text form; keep it secret.
    pub fn to_secret_string(&self) -> String {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(self.signing.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex_encode(&self.key_id),
            BASE64.encode(material)
        )
    }

    /// Signs `message` with the raw Ed25519 key.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    pub(crate) fn kind(&self) -> KeyKind {
        self.kind
    }

    pub(crate) fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SignerKey({}, {:?})", self.name, self.kind)
    }
}

impl VerifierKey {
    /// Parses a vkey `<name>+<hex id>+<base64(type || key)>`.
    pub fn parse(text: &str) -> Result<VerifierKey> {
        let text = text.trim_end_matches('\n');
        let (name, id_hex, material) = split_key(text, "verifier key")?;
        let (kind, public) = key_material(material, "verifier key")?;
        let verifying = VerifyingKey::from_bytes(&public)
            .map_err(|_| Error::malformed("verifier key", "not an Ed25519 public key"))?;
        let key_id = key_id(name, kind, &public);
        if hex_encode(&key_id) != id_hex {
            return Err(Error::malformed(
                "verifier key",
                "key id does not match the key",
            ));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            kind,
            key_id,
            verifying,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the key verifies.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// Whether a signature line claims to be from this key.
    pub fn matches(&self, signature: &NoteSignature) -> bool {
        signature.name == self.name && signature.key_id == self.key_id
    }

    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.verifying
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
            .is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(self.verifying.as_bytes());
        write!(
            formatter,
            "{}+{}+{}",
            self.name,
            hex_encode(&self.key_id),
            BASE64.encode(material)
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "VerifierKey({self})")
    }
}

impl Note {
    /// Signs `text` with each of `signers` (note keys only).
    pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<Note> {
        check_text(text)?;
        let mut signatures = Vec::with_capacity(signers.len());
        for signer in signers {
            if signer.kind() != KeyKind::Note {
                return Err(Error::Signature(format!(
                    "{} is a cosigning key, not a note key",
                    signer.name()
                )));
            }
            signatures.push(NoteSignature {
                name: signer.name().to_owned(),
                key_id: signer.key_id(),
                signature: signer.sign_raw(text.as_bytes()).to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses a signed note, without verifying any signature.
    pub fn parse(bytes: &[u8]) -> Result<Note> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(Error::malformed(
                "signed note",
                format!("{} bytes is over the limit", bytes.len()),
            ));
        }
        let all =
            std::str::from_utf8(bytes).map_err(|_| Error::malformed("signed note", "not UTF-8"))?;
        let split = all.rfind("\n\n").ok_or_else(|| {
            Error::malformed("signed note", "no blank line before the signatures")
        })?;
        let text = &all[..split + 1];
        check_text(text)?;
        let block = &all[split + 2..];
        if !block.ends_with('\n') {
            return Err(Error::malformed(
                "signed note",
                "signature block does not end in a newline",
            ));
        }
        let mut signatures = Vec::new();
        for line in block[..block.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Error::malformed("signed note", "too many signatures"));
            }
            signatures.push(parse_signature_line(line)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line (for example a witness's cosignature), replacing any earlier line from
    /// the same key.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.retain(|existing| {
            !(existing.name == signature.name && existing.key_id == signature.key_id)
        });
        self.signatures.push(signature);
    }

    /// Checks the signature of `key` (a note key). Fails when it is missing or does not verify.
    pub fn verify(&self, key: &VerifierKey) -> Result<()> {
        if key.kind() != KeyKind::Note {
            return Err(Error::Signature(format!(
                "{} is a cosigning key, not a note key",
                key.name()
            )));
        }
        let signature = self
            .signatures
            .iter()
            .find(|signature| key.matches(signature))
            .ok_or_else(|| {
                Error::Signature(format!("note has no signature from {}", key.name()))
            })?;
        if !key.verify_raw(self.text.as_bytes(), &signature.signature) {
            return Err(Error::Signature(format!(
                "signature from {} does not verify",
                key.name()
            )));
        }
        Ok(())
    }

    /// The note in its text form.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
        }
        out
    }
}

impl NoteSignature {
    /// The line `— <name> <base64(key id || signature)>\n`.
    pub fn to_line(&self) -> String {
        let mut bytes = self.key_id.to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, BASE64.encode(bytes))
    }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature> {
    let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| {
        Error::malformed(
            "signed note",
            "signature line does not start with an em dash",
        )
    })?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| Error::malformed("signed note", "signature line has no signature"))?;
    check_name(name)?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| Error::malformed("signed note", "signature is not base64"))?;
    if bytes.len() < 5 {
        return Err(Error::malformed("signed note", "signature is too short"));
    }
    let key_id = [bytes[0], bytes[1], bytes[2], bytes[3]];
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id,
        signature: bytes[4..].to_vec(),
    })
}

/// Note text: non-empty, ends in a newline, no ASCII control characters but newlines.
fn check_text(text: &str) -> Result<()> {
    if !text.ends_with('\n') {
        return Err(Error::malformed(
            "signed note",
            "text does not end in a newline",
        ));
    }
    if text.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(Error::malformed(
            "signed note",
            "text holds a control character",
        ));
    }
    Ok(())
}

/// A key name: non-empty, no white space, no `+`.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(Error::malformed(
            "key name",
            format!("{name:?} is empty or holds '+' or white space"),
        ));
    }
    Ok(())
}

fn split_key<'a>(text: &'a str, what: &'static str) -> Result<(&'a str, &'a str, &'a str)> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed(what, "expected <name>+<key id>+<key>"));
    };
    check_name(name)?;
    if id_hex.len() != 8
        || hex_decode(id_hex).is_none()
        || id_hex.chars().any(|c| c.is_ascii_uppercase())
    {
        return Err(Error::malformed(
            what,
            "key id is not 8 lower-case hex digits",
        ));
    }
    Ok((name, id_hex, material))
}

fn key_material(material: &str, what: &'static str) -> Result<(KeyKind, [u8; 32])> {
    let bytes = BASE64
        .decode(material)
        .map_err(|_| Error::malformed(what, "key is not base64"))?;
    if bytes.len() != 33 {
        return Err(Error::malformed(
            what,
            "key is not a type byte and 32 bytes",
        ));
    }
    let kind = KeyKind::from_type_byte(bytes[0])?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[1..]);
    Ok((kind, key))
}

fn key_id(name: &str, kind: KeyKind, public: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([kind.type_byte()]);
    hasher.update(public);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of golang.org/x/mod/sumdb/note (package documentation and note_test.go).
    const PETER_SIGNER: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VERIFIER: &str =
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn signing_reproduces_the_go_sumdb_note_example() {
        let signer = SignerKey::parse(PETER_SIGNER).expect("signer key parses");
        assert_eq!(signer.verifier().to_string(), PETER_VERIFIER);
        assert_eq!(signer.to_secret_string(), PETER_SIGNER);
        let note = Note::sign(PETER_TEXT, &[&signer]).expect("signs");
        assert_eq!(note.to_text(), PETER_NOTE);
    }

    #[test]
    fn the_go_example_note_verifies_and_a_changed_one_does_not() {
        let verifier = VerifierKey::parse(PETER_VERIFIER).expect("vkey parses");
        let note = Note::parse(PETER_NOTE.as_bytes()).expect("note parses");
        assert_eq!(note.text(), PETER_TEXT);
        note.verify(&verifier).expect("verifies");
        let changed = PETER_NOTE.replacen("cryptography", "cryptographY", 1);
        let changed = Note::parse(changed.as_bytes()).expect("still parses");
        assert!(matches!(
            changed.verify(&verifier),
            Err(Error::Signature(_))
        ));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in [
            "",
            "PeterNeumann+c74f20a3",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(SignerKey::parse(PETER_VERIFIER).is_err());
    }

    #[test]
    fn malformed_notes_are_rejected() {
        for bad in [
            "no blank line\n\u{2014} a AAAAAAAA\n",
            "text\n\n",
            "text\n\n\u{2014} name\n",
            "text\n\n- name AAAAAAAAAAAA\n",
            "text\n\n\u{2014} name AAAAAAAAAAAA",
            "te\rxt\n\n\u{2014} name AAAAAAAAAAAA\n",
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?} parsed");
        }
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
    }

    #[test]
    fn generated_keys_round_trip() {
        let signer = SignerKey::generate("roadcode.example/ledger", KeyKind::Note).expect("key");
        let again = SignerKey::parse(&signer.to_secret_string()).expect("parses");
        assert_eq!(again.verifier(), signer.verifier());
        let verifier = VerifierKey::parse(&signer.verifier().to_string()).expect("parses");
        let note = Note::sign("hello\n", &[&signer]).expect("signs");
        Note::parse(note.to_text().as_bytes())
            .expect("parses")
            .verify(&verifier)
            .expect("verifies");
        assert!(SignerKey::generate("bad name", KeyKind::Note).is_err());
    }
}
