//! Proof bundles as a department receives them: any bytes must be refused cleanly or checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = ledger::VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        .expect("the Go example key parses");
    let policy = ledger::Policy { log: key, witnesses: vec![], quorum: 0 };
    if let Ok(bundle) = ledger::InclusionBundle::from_json(data) {
        let _ = bundle.check(&policy);
    }
    if let Ok(bundle) = ledger::ConsistencyBundle::from_json(data) {
        let _ = bundle.parts();
    }
});
