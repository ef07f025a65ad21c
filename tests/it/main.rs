//! End-to-end tests of the `roadcode` binary: one test binary, one module per area.

mod sensors;
