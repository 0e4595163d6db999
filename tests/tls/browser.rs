//! Headless Chromium (the shared driver in `support/browser.rs`) trusting exactly one
//! server key: `--ignore-certificate-errors-spki-list` pins the SHA-256 of the test
//! certificate's public key, and any other certificate still fails.

use std::ops::Deref;

use monitoring_test_support::browser;

/// A session that accepts one pinned key; everything else is the shared driver's.
pub struct Browser(browser::Browser);

impl Browser {
    /// A headless session that accepts the key `spki_sha256` (base64) and no other
    /// untrusted one. `None` only under the missing-peer opt-out.
    pub async fn start(spki_sha256: &str) -> Option<Self> {
        let pin = format!("--ignore-certificate-errors-spki-list={spki_sha256}");
        browser::Browser::start(&[&pin]).await.map(Self)
    }

    /// Ends the session, then chromedriver (on drop).
    pub async fn close(self) {
        self.0.close().await;
    }
}

impl Deref for Browser {
    type Target = browser::Browser;

    fn deref(&self) -> &browser::Browser {
        &self.0
    }
}
