//! Resilience: the real `stampd` binary killed mid-write, backed up under load, run out
//! of disk space, upgraded from the first schema, and checked for tokens kept in clear.
//!
//! Each test runs the binary on its own temporary folder with its own config file,
//! through `support/binary.rs`; `resilience/checks.rs` checks the files it leaves.

mod checks;

mod backup;
mod crash;
mod full_disk;
mod migrations;
mod tokens;
