//! End-to-end tests of the `roadcode` command: one test binary, one module per area.

mod ledger;
