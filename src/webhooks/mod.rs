//! Webhooks on the wire: Standard Webhooks signatures ([`signature`]), which targets a
//! delivery may reach ([`target`]: https only, public addresses only unless the shop
//! allows its LAN, checked when a subscription is saved and again on every connection a
//! delivery opens, through the resolver of [`dns`]), and one delivery over HTTP
//! ([`send`]). The queue and its sender are the outbox's (`crate::outbox::webhooks`);
//! the subscriptions and events are stored by `crate::db::webhooks`.

pub mod dns;
pub mod send;
pub mod signature;
pub mod target;
