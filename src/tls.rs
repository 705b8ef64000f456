//! TLS setup for the client: rustls with the `ring` provider.
//!
//! reqwest is built with `rustls-no-provider` because the default provider
//! (aws-lc-sys) adds over a minute to a cold build. rustls then needs a
//! process-wide provider before the first client is built, or reqwest panics;
//! the generated `Client::new` calls [`install_default_provider`] first.

/// Installs ring as the process-wide rustls provider unless one is installed
/// already (by us or by the application). Cheap and idempotent.
pub fn install_default_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: some provider is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
