//! Cell ids, zones and bounding boxes typed by people: parse or refuse, never panic; an accepted id
//! round-trips through its key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = text.parse::<grid::CellId>() {
        let key = id.key();
        assert_eq!(key.id().expect("an accepted id's key has an id"), id);
    }
    let _ = text.parse::<grid::UtmZone>();
    let _ = text.parse::<grid::BoundingBox>();
});
