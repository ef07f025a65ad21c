//! The profile decoder and the IRI over it, on arbitrary bytes; the first byte picks unit and segment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensors::{DecodeConfig, ElevationUnit, decode_profile, iri_segments};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let unit = if first & 1 == 0 { ElevationUnit::Metre } else { ElevationUnit::Millimetre };
    let segment = f64::from(first >> 1).max(0.5);
    let config = DecodeConfig { max_bytes: 1 << 16, ..DecodeConfig::default() };
    if let Ok(decoded) = decode_profile(rest, unit, &config) {
        let _ = iri_segments(&decoded.value, segment, None);
    }
});
