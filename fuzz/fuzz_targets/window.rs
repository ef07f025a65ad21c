//! The window decoder and the window classifier, on arbitrary bytes; the first byte picks the rate.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sensors::{DecodeConfig, WindowClassifier, decode_window};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let rate = f64::from(first);
    let config = DecodeConfig { max_bytes: 1 << 16, ..DecodeConfig::default() };
    if let Ok(decoded) = decode_window(rest, &config) {
        static CLASSIFIER: OnceLock<WindowClassifier> = OnceLock::new();
        let classifier = CLASSIFIER.get_or_init(|| WindowClassifier::shipped().expect("the shipped model loads"));
        let _ = classifier.classify(&decoded.value, rate);
    }
});
