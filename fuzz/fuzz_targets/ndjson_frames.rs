//! The NDJSON frames decoder, and the trace made from its frames, on arbitrary bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensors::{DecodeConfig, Detector, decode_frames, frames_to_trace};

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig { max_bytes: 1 << 16, ..DecodeConfig::default() };
    if let Ok(decoded) = decode_frames(data, &config) {
        if let Ok(trace) = frames_to_trace(&decoded.value) {
            static DETECTOR: OnceLock<Detector> = OnceLock::new();
            let detector = DETECTOR.get_or_init(|| Detector::shipped().expect("the shipped model loads"));
            let _ = detector.detect(&trace);
        }
    }
});
