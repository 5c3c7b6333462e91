//! Wallet passes: Apple Wallet (.pkpass files and the pass web service) and Google Wallet.
//!
//! The signing keys are read and checked once at startup ([`Wallets::load`]); a wallet
//! whose settings are absent is simply off, and its links fall back to the web card page.

pub mod apple;
pub mod google;
pub mod keys;
pub mod strip;

use crate::config::Settings;
use crate::db::customer_cards::CardView;

/// The wallets this server issues passes for.
#[derive(Default)]
pub struct Wallets {
    pub apple: Option<apple::PassSigner>,
    pub google: Option<google::GoogleIssuer>,
}

/// A wallet setting whose file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("setting `{key}`: {message}")]
pub struct LoadError {
    pub key: &'static str,
    pub message: String,
}

impl LoadError {
    fn new(key: &'static str, message: impl Into<String>) -> LoadError {
        LoadError {
            key,
            message: message.into(),
        }
    }
}

impl Wallets {
    /// Reads and checks the certificates and keys of the configured wallets.
    pub fn load(settings: &Settings) -> Result<Wallets, LoadError> {
        let apple = settings
            .apple
            .as_ref()
            .map(apple::PassSigner::load)
            .transpose()?;
        if apple.is_some()
            && !settings
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        {
            log::warn!(
                "Apple Wallet calls a pass's web service only over https; set `public_url` to \
                 the https address phones reach this server at, or passes will not update"
            );
        }
        let google = settings
            .google
            .as_ref()
            .map(google::GoogleIssuer::load)
            .transpose()?;
        Ok(Wallets { apple, google })
    }
}

/// The customer's name as a pass shows it.
pub fn member_name(view: &CardView) -> String {
    match view.last_name.as_deref().map(str::trim) {
        Some(last) if !last.is_empty() => format!("{} {last}", view.first_name),
        _ => view.first_name.clone(),
    }
}

/// "7 / 10".
pub fn stamps_text(view: &CardView) -> String {
    format!(
        "{} / {}",
        view.stamps_count, view.card.design.stamps_required
    )
}

/// The notice a pass shows when its stamps change: the template's wording or stampd's
/// ("You have 7 of 10 stamps"), and the dearest reward the stamps pay for, if any
/// ("… – Free coffee is ready").
pub fn stamps_notice(view: &CardView) -> String {
    let design = &view.card.design;
    let stamps = crate::domain::stamp_message::render(
        design.stamp_message.as_deref(),
        view.stamps_count,
        design.stamps_required,
    );
    match view.available_rewards().max_by_key(|r| r.stamps_required) {
        Some(reward) => format!("{stamps} – {} is ready", reward.name),
        None => stamps,
    }
}

/// How far the next reward is: "3 stamps to Free coffee", "Card complete".
pub fn next_reward_text(view: &CardView) -> String {
    let plural = |n: i64| if n == 1 { "stamp" } else { "stamps" };
    if let Some(next) = view
        .rewards
        .iter()
        .find(|r| r.stamps_required > view.stamps_count)
    {
        let n = next.stamps_required - view.stamps_count;
        return format!("{n} {} to {}", plural(n), next.name);
    }
    if !view.rewards.is_empty() {
        return "Every reward unlocked".into();
    }
    let n = view.card.design.stamps_required - view.stamps_count;
    if n > 0 {
        format!("{n} {} to go", plural(n))
    } else {
        "Card complete".into()
    }
}

/// The names of the rewards the stamps pay for now, or "None yet".
pub fn available_rewards_text(view: &CardView) -> String {
    let names: Vec<&str> = view.available_rewards().map(|r| r.name.as_str()).collect();
    if names.is_empty() {
        "None yet".into()
    } else {
        names.join(", ")
    }
}

/// Every reward of the card with its price, one a line.
pub fn rewards_list_text(view: &CardView) -> Option<String> {
    if view.rewards.is_empty() {
        return None;
    }
    Some(
        view.rewards
            .iter()
            .map(|r| {
                let n = r.stamps_required;
                format!(
                    "{} – {n} {}",
                    r.name,
                    if n == 1 { "stamp" } else { "stamps" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::cards::{Card, CardDesign};
    use crate::db::rewards::Reward;

    pub(crate) fn view(stamps: i64, rewards: &[(&str, i64)]) -> CardView {
        CardView {
            customer_card_id: 1,
            store_id: 1,
            store_name: "Ann's Café".into(),
            first_name: "Ann".into(),
            last_name: Some("Lee".into()),
            card: Card {
                id: 3,
                account_id: 1,
                design: CardDesign {
                    name: "Coffee Card".into(),
                    ..CardDesign::default()
                },
                archived_at: None,
                rewards_count: rewards.len() as i64,
                customer_cards_count: 1,
                created_at: "2025-01-01T00:00:00.000Z".into(),
                updated_at: "2025-01-01T00:00:00.000Z".into(),
            },
            stamps_count: stamps,
            code: "ABC123".into(),
            uuid: "9b2f4a9e-3f0c-4d8e-9a51-2d1f8c0e7b6a".into(),
            pass_auth_token: "0123456789abcdef0123456789abcdef".into(),
            updated_at: "2025-01-01T00:00:00.000Z".into(),
            rewards: rewards
                .iter()
                .enumerate()
                .map(|(i, (name, n))| Reward {
                    id: i as i64 + 1,
                    account_id: 1,
                    card_id: 3,
                    name: name.to_string(),
                    description: None,
                    stamps_required: *n,
                    position: 0,
                    active: true,
                    created_at: "2025-01-01T00:00:00.000Z".into(),
                    updated_at: "2025-01-01T00:00:00.000Z".into(),
                })
                .collect(),
            locations: Vec::new(),
        }
    }

    #[test]
    fn next_reward_counts_down_to_the_cheapest_reward_not_yet_paid_for() {
        let rewards = [("Free coffee", 5), ("Cake", 10)];
        assert_eq!(
            next_reward_text(&view(4, &rewards)),
            "1 stamp to Free coffee"
        );
        assert_eq!(next_reward_text(&view(5, &rewards)), "5 stamps to Cake");
        assert_eq!(
            next_reward_text(&view(10, &rewards)),
            "Every reward unlocked"
        );
        assert_eq!(next_reward_text(&view(7, &[])), "3 stamps to go");
        assert_eq!(next_reward_text(&view(10, &[])), "Card complete");
    }

    #[test]
    fn rewards_and_names() {
        let rewards = [("Free coffee", 5), ("Cake", 10)];
        assert_eq!(available_rewards_text(&view(4, &rewards)), "None yet");
        assert_eq!(
            available_rewards_text(&view(10, &rewards)),
            "Free coffee, Cake"
        );
        assert_eq!(
            rewards_list_text(&view(0, &rewards)).unwrap(),
            "Free coffee – 5 stamps\nCake – 10 stamps"
        );
        assert_eq!(rewards_list_text(&view(0, &[])), None);
        let mut v = view(0, &[]);
        assert_eq!(member_name(&v), "Ann Lee");
        v.last_name = Some(" ".into());
        assert_eq!(member_name(&v), "Ann");
        assert_eq!(stamps_text(&view(7, &[])), "7 / 10");
    }

    #[test]
    fn the_notice_counts_stamps_in_the_shops_words_and_names_a_ready_reward() {
        let rewards = [("Free coffee", 5), ("Cake", 10)];
        assert_eq!(stamps_notice(&view(4, &rewards)), "You have 4 of 10 stamps");
        assert_eq!(
            stamps_notice(&view(7, &rewards)),
            "You have 7 of 10 stamps – Free coffee is ready"
        );
        assert_eq!(
            stamps_notice(&view(10, &rewards)),
            "You have 10 of 10 stamps – Cake is ready"
        );
        let mut own = view(7, &[]);
        own.card.design.stamp_message = Some("{remaining} more to a treat!".into());
        assert_eq!(stamps_notice(&own), "3 more to a treat!");
    }
}
