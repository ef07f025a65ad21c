//! Tile paths, hash tiles, entry bundles and the journal: any bytes must decode or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = ledger::decode_bundle(data) {
        let mut again = Vec::new();
        for entry in &entries {
            ledger::push_bundle_entry(&mut again, entry).expect("decoded entries fit");
        }
        assert_eq!(again, data);
    }
    if let Ok(hashes) = ledger::decode_hash_tile(data) {
        assert_eq!(ledger::encode_hash_tile(&hashes), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(id) = ledger::TileId::parse(text) {
            assert_eq!(id.path(), text);
        }
    }
    let _ = ledger::fuzzing::scan_journal(data);
});
