//! `config.toml`, any text: a valid config or an error that names the file and says what is
//! wrong; never a panic. A config that passes is one the gateway starts with: its providers
//! open and every redirect URI it will send people to is a URL.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use socialgate::Config;
use socialgate::config::ConfigError;
use socialgate::provider::Registry;
use socialgate::store::MemoryStore;

fuzz_target!(|data: &[u8]| {
    // Config::load reads the file as UTF-8 first.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz.toml", socialgate_fuzz::scratch()) {
        Ok(config) => {
            assert!(!config.server.issuer.as_str().ends_with('/'));
            for client in config.clients.values() {
                for uri in client
                    .redirect_uris
                    .iter()
                    .chain(&client.post_logout_redirect_uris)
                {
                    assert!(url::Url::parse(uri).is_ok(), "{uri:?}");
                }
            }
            static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
            let http = HTTP.get_or_init(|| {
                socialgate::provider::http::client(std::time::Duration::from_secs(1))
                    .expect("an HTTP client")
            });
            let opened = Registry::build(
                config.providers.values(),
                config.server.issuer.as_str(),
                http,
                Arc::new(MemoryStore::new()),
            );
            assert!(
                opened.is_ok(),
                "a valid config whose providers do not open: {:?}",
                opened.err()
            );
        }
        Err(ConfigError::Invalid { file, .. }) => assert_eq!(file, "fuzz.toml"),
        Err(e @ ConfigError::Read { .. }) => panic!("parse read nothing, yet: {e}"),
    }
});
