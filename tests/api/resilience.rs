//! Resilience: the real `stampd` binary killed mid-write, backed up under load (by
//! `stampd backup` and by copying `latest.db`), run out
//! of disk space, upgraded from the first schema, checked for tokens kept in clear,
//! given files it did not write to restore or start on, and replicated by Litestream
//! (the restore drill).
//!
//! Each test runs the binary on its own temporary folder with its own config file,
//! through `support/binary.rs`; `resilience/checks.rs` checks the files it leaves.

mod checks;

mod backup;
mod backup_paths;
mod crash;
mod foreign_schema;
mod full_disk;
mod latest_backup;
mod litestream;
mod migrations;
mod tokens;
