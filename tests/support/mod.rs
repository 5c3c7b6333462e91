//! What the tests share: the in-process harness (`app`), the binary harness (`binary`),
//! the browser for the page tests (`browser`, `webdriver`), a test certificate
//! chain for Apple Wallet passes (`apple_chain`) and stand-ins of APNs and Google Wallet
//! (`wallet_stand_ins`).

pub mod app;
pub mod apple_chain;
pub mod binary;
pub mod browser;
pub mod pebble;
pub mod receiver;
pub mod tls;
pub mod wallet_stand_ins;
pub mod webdriver;
