//! stampd: a self-hosted loyalty stamp-card server.
//!
//! The binary (`src/main.rs`) only parses the command line; everything else lives
//! here so the integration tests link the same code that runs in production.

pub mod api;
pub mod app;
pub mod cli;
mod cli_transfer;
pub mod codes;
pub mod config;
pub mod db;
pub mod domain;
pub mod edge;
pub mod error;
pub mod files;
pub mod logging;
pub mod metrics;
pub mod outbox;
pub mod pages;
pub mod params;
pub mod time_fmt;
pub mod tls;
pub mod tokens;
pub mod transfer;
pub mod wallet;
pub mod webhooks;
