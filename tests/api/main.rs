//! The integration tests, in one test binary (one link of the whole crate instead of
//! one per file). Most start a real stampd on 127.0.0.1:0 with a fresh SQLite file and
//! speak HTTP to it (`support/app.rs`); `cli` and `resilience` run the built `stampd`
//! executable itself (`support/binary.rs`); `counter_page` and `posters_browser` drive
//! the pages in headless Chromium.

#[path = "../support/mod.rs"]
mod support;

mod auth;
mod cards;
mod customer_cards;
mod customers;
mod docs;
mod errors;
mod search;
mod search_cost;
mod stores;

mod address_limits;
mod big_lists;
mod checkpoints;
mod concurrency;
mod deliveries;
mod idempotency;
mod import;
mod insights;
mod ledger_model;
mod locations;
mod metrics;
mod names;
mod posters;
mod qr;
mod rate_limits;
mod rewards;
mod send_throttle;
mod signup;
mod staff;
mod stamps;
mod stored_totals;
mod web_card;

mod acme;
mod edge;
mod hostile;
mod openapi;
mod own_certificates;
mod private_files;
mod proxies;
mod wallet;
mod webhooks;

mod apns;
mod google_wallet;

mod counter_page;
mod posters_browser;

mod cli;
mod resilience;

mod transfers;
