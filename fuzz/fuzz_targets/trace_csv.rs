//! The trace CSV decoder, and everything downstream of it (detection, roughness), on arbitrary bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensors::{DecodeConfig, Detector, decode_trace, roughness_segments};

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig { max_bytes: 1 << 16, ..DecodeConfig::default() };
    if let Ok(decoded) = decode_trace(data, &config) {
        static DETECTOR: OnceLock<Detector> = OnceLock::new();
        let detector = DETECTOR.get_or_init(|| Detector::shipped().expect("the shipped model loads"));
        let _ = detector.detect(&decoded.value);
        let _ = roughness_segments(&decoded.value, 100.0);
    }
});
