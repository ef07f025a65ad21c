//! End-to-end tests: the real `roadcode` binary on real files. One test binary, one module per area.

mod engine;
mod grid;
mod ledger;
mod sensors;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped Hangzhou network.
fn hangzhou_roads() -> PathBuf {
    root().join("data/hangzhou/roads.geojson")
}

/// Runs `roadcode` with arguments and returns what it did.
fn roadcode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roadcode"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the roadcode binary runs")
}

/// Stdout of a run that must succeed.
fn success(args: &[&str]) -> String {
    let output = roadcode(args);
    assert!(
        output.status.success(),
        "roadcode {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// Stderr of a run that must fail, checked to be one line.
fn failure(args: &[&str]) -> String {
    let output = roadcode(args);
    assert!(!output.status.success(), "roadcode {args:?} should fail");
    let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one-line error, got {stderr:?}"
    );
    stderr
}

/// A scratch directory for one test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}
