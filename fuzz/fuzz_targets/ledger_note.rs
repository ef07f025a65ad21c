//! Signed notes, checkpoints and keys: any bytes must parse or fail cleanly, and what parses must
//! survive its own text form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = ledger::Note::parse(data) {
        let again = ledger::Note::parse(note.to_text().as_bytes()).expect("a parsed note re-parses");
        assert_eq!(again, note);
        if let Ok(checkpoint) = ledger::Checkpoint::parse(note.text()) {
            assert_eq!(ledger::Checkpoint::parse(&checkpoint.to_text()).expect("re-parses"), checkpoint);
        }
        let key = ledger::VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .expect("the Go example key parses");
        let _ = note.verify(&key);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = ledger::VerifierKey::parse(text) {
            assert_eq!(ledger::VerifierKey::parse(&key.to_string()).expect("re-parses"), key);
        }
        let _ = ledger::SignerKey::parse(text);
    }
});
