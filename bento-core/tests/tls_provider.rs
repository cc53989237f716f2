//! Building and using a client leaves the process-wide rustls provider
//! alone: the application may still install its own (aws-lc-rs, a FIPS
//! provider). Its own test binary, since the default is process-wide.
#![cfg(feature = "rustls")]
#![allow(clippy::unwrap_used)]

use bento_core::Client;
use bento_emulator::Emulator;

#[tokio::test]
async fn the_client_never_installs_a_process_wide_crypto_provider() {
    let emulator = Emulator::start().await.unwrap();
    let client = Client::builder()
        .base_url(emulator.base_url())
        .publishable_key(emulator.publishable_key())
        .secret_key(emulator.secret_key())
        .site_uuid(emulator.site_uuid())
        .build()
        .unwrap();
    client.tags().await.unwrap();
    client
        .track(&bento_core::Event::new("x", "ada@example.com"))
        .unwrap();
    client
        .flush(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "a provider was installed behind the application's back"
    );
    // The application's own choice still goes through. (ring is deprecated
    // by rustls 0.23.48 for lacking post-quantum key exchange; any provider
    // proves the point.)
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
        .install_default()
        .expect("the application can install its provider");
}
