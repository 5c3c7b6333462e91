//! The kinds of the stamp ledger's rows: the API's events, the OpenAPI document and
//! the counter page (`/assets/vocab.js`) read them from here.

vocabulary! {
    /// What a ledger row records: the welcome stamps of a new card, stamps given, a
    /// correction (stamps taken back), a reward paid for, or a balance brought over from
    /// another system by an import.
    LedgerKind {
        WelcomeBonus = "welcome_bonus",
        Stamp = "stamp",
        Adjustment = "adjustment",
        Redemption = "redemption",
        Import = "import",
    }
}
