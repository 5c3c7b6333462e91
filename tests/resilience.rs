//! Resilience: the real `stampd` binary killed mid-write, backed up under load, run out
//! of disk space, upgraded from the first schema, and checked for tokens kept in clear.
//!
//! Each test runs the binary (`env!("CARGO_BIN_EXE_stampd")`) on its own temporary
//! folder with its own config file; see `resilience/common.rs`.

#[path = "resilience/common.rs"]
mod common;

#[path = "resilience/crash.rs"]
mod crash;

#[path = "resilience/backup.rs"]
mod backup;

#[path = "resilience/full_disk.rs"]
mod full_disk;

#[path = "resilience/migrations.rs"]
mod migrations;

#[path = "resilience/tokens.rs"]
mod tokens;
