//! Engine records (NDJSON lines): decode or refuse, never panic; an accepted record survives a round
//! trip through its own encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = grid::engine::Record::from_json_line(line) {
        let again = grid::engine::Record::from_json_line(&record.to_json_line())
            .expect("an accepted record's own encoding decodes");
        assert_eq!(again, record);
    }
});
