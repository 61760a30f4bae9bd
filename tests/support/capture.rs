//! Every log line of a test binary, at debug level, for tests that search the logs (one
//! subscriber per process: every test of the binary writes into the same capture).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// What was logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's capture, installed as the global subscriber on first use.
pub fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        // The gateway's own subscriber, so its escaping is what the tests read.
        let subscriber = socialgate::logging::subscriber(
            socialgate::config::LogFormat::Text,
            tracing_subscriber::EnvFilter::new("debug"),
            move || writer.clone(),
            false,
        );
        tracing::subscriber::set_global_default(subscriber).unwrap();
        capture
    })
}
