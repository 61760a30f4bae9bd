//! A site's back-channel logout endpoint: records the logout tokens POSTed to it, and can
//! fail (HTTP 503) or hang to show that the gateway retries and never waits for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::watch;

#[derive(Default)]
struct Shared {
    /// Tokens from requests answered 200.
    tokens: Vec<String>,
    /// Every POST, answered or not.
    attempts: usize,
    /// Answer 503 to this many more requests.
    fail_next: usize,
}

#[derive(Clone)]
struct AppState {
    shared: Arc<Mutex<Shared>>,
    /// While `true`, requests wait.
    held: watch::Receiver<bool>,
}

pub struct FakeSite {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    hold: watch::Sender<bool>,
}

impl FakeSite {
    pub async fn start() -> FakeSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/backchannel-logout",
            listener.local_addr().unwrap()
        );
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (hold, held) = watch::channel(false);
        let app = Router::new()
            .route("/backchannel-logout", post(receive))
            .with_state(AppState {
                shared: shared.clone(),
                held,
            });
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSite { url, shared, hold }
    }

    pub fn fail_next(&self, n: usize) {
        self.shared.lock().unwrap().fail_next = n;
    }

    /// Requests wait until `release`.
    pub fn hold(&self) {
        self.hold.send_replace(true);
    }

    pub fn release(&self) {
        self.hold.send_replace(false);
    }

    pub fn attempts(&self) -> usize {
        self.shared.lock().unwrap().attempts
    }

    pub fn tokens(&self) -> Vec<String> {
        self.shared.lock().unwrap().tokens.clone()
    }

    /// Waits (up to 10 s) until `n` tokens arrived; returns them.
    pub async fn wait_for_tokens(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let tokens = self.tokens();
            if tokens.len() >= n {
                return tokens;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} logout tokens at {}, got {} after {} attempts",
            self.url,
            self.tokens().len(),
            self.attempts()
        );
    }
}

async fn receive(
    State(state): State<AppState>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> StatusCode {
    state.shared.lock().unwrap().attempts += 1;
    let mut held = state.held.clone();
    let _ = held.wait_for(|h| !*h).await;
    let mut shared = state.shared.lock().unwrap();
    if shared.fail_next > 0 {
        shared.fail_next -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match form.get("logout_token") {
        Some(token) => {
            shared.tokens.push(token.clone());
            StatusCode::OK
        }
        None => StatusCode::BAD_REQUEST,
    }
}
