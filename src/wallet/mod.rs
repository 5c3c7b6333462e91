//! Wallet passes: Apple Wallet (.pkpass files and the pass web service) and Google Wallet.
