//! Integration tests: each starts a real stampd on 127.0.0.1:0 with a fresh SQLite file
//! and speaks HTTP to it.

mod helpers;

#[path = "../support/apple_chain.rs"]
mod apple_chain;

mod auth;
mod cards;
mod customer_cards;
mod customers;
mod errors;
mod search;
mod stores;

mod big_lists;
mod checkpoints;
mod concurrency;
mod deliveries;
mod idempotency;
mod import;
mod ledger_model;
mod locations;
mod posters;
mod qr;
mod rate_limits;
mod rewards;
mod signup;
mod stamps;
mod web_card;
