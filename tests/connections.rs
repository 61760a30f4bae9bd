//! What a connection may take of the gateway (`[limits]`): a client that stalls inside its
//! headers or idles on a kept-alive connection is cut off; connections beyond the cap wait
//! for a free slot; shutting down finishes requests in flight and closes the rest.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::fakes::ok::OkBehaviour;
use support::*;

fn gateway_limits(limits: &str) -> Options {
    Options {
        extra_toml: format!("[limits]\n{limits}\n"),
        ..Options::default()
    }
}

fn connect(gw: &TestGateway) -> TcpStream {
    let addr = gw.issuer.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the gateway closes the connection; how long that took, and what it sent.
/// Fails when it is still open after the read timeout.
fn until_closed(stream: &mut TcpStream) -> (Duration, String) {
    let start = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "still open after {:?} ({e}); received {:?}",
                start.elapsed(),
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        start.elapsed(),
        String::from_utf8_lossy(&received).into_owned(),
    )
}

/// The blocking socket work off the runtime the gateway serves on.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test]
async fn a_connection_stalled_inside_its_headers_is_closed() {
    let gw = TestGateway::start_with(gateway_limits("header_timeout = \"1s\"")).await;
    let mut stream = connect(&gw);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        .unwrap();
    let (after, received) = blocking(move || until_closed(&mut stream)).await;
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
    // Nothing was served: the request never arrived whole.
    assert!(!received.contains("200 OK"), "{received}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let gw = TestGateway::start_with(gateway_limits("header_timeout = \"1s\"")).await;
    let mut stream = connect(&gw);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let (_, received) = blocking(move || until_closed(&mut stream)).await;
    // Answered, then closed for idling, though HTTP/1.1 keeps connections alive by default.
    assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
    assert!(received.ends_with("\r\n\r\nok"), "{received}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let gw = TestGateway::start_with(gateway_limits(
        "max_connections = 2\nheader_timeout = \"30s\"",
    ))
    .await;
    // Two stalled clients take both slots.
    let mut stalled: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(&gw);
            s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    let mut third = connect(&gw);
    third
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let (waiting, third) = blocking(move || {
        let mut buf = [0u8; 64];
        let waiting = third.read(&mut buf).map_err(|e| e.kind());
        (waiting, third)
    })
    .await;
    assert!(
        matches!(waiting, Err(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "served beyond the cap: {waiting:?}"
    );
    // One stalled client leaves: the third is served.
    drop(stalled.pop());
    let mut third = third;
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (_, received) = blocking(move || until_closed(&mut third)).await;
    assert!(received.starts_with("HTTP/1.0 200 OK\r\n"), "{received}");
}

/// A login whose callback is in flight when the gateway is told to stop completes; new
/// connections are refused from then on; and a stalled connection does not hold the
/// shutdown past `shutdown_timeout`.
#[tokio::test]
async fn shutting_down_finishes_logins_in_flight_and_closes_the_rest() {
    let gw = TestGateway::start_with(gateway_limits(
        "header_timeout = \"30s\"\nshutdown_timeout = \"2s\"",
    ))
    .await;
    let mut stalled = connect(&gw);
    stalled.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    // OK takes a while to answer the profile call the callback makes.
    gw.ok
        .set_behaviour(OkBehaviour::ApiSlow(Duration::from_millis(800)));
    let login = {
        let browser = gw.browser.clone();
        let start = gw.authorize_url(&[
            ("response_type", "code"),
            ("client_id", SHOP),
            ("redirect_uri", SHOP_REDIRECT),
            ("scope", "openid"),
            ("provider", "ok"),
        ]);
        tokio::spawn(async move { follow_with(&browser, &start).await })
    };
    // Wait until the callback is at OK, then stop.
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.ok.calls("api") == 0 {
        assert!(
            Instant::now() < deadline,
            "the login never reached OK's API"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopping = Instant::now();
    gw.shut_down().await;
    let took = stopping.elapsed();

    let site = login.await.unwrap().site();
    assert!(param(&site, "code").is_some(), "{site}");
    // The stalled connection was dropped at the deadline, not waited for.
    assert!(
        took >= Duration::from_millis(1900),
        "stopped after {took:?}"
    );
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
    let (_, received) = blocking(move || until_closed(&mut stalled)).await;
    assert_eq!(received, "");
    let addr = gw.issuer.trim_start_matches("http://").to_string();
    let refused = TcpStream::connect(&addr).map_err(|e| e.kind());
    assert_eq!(refused.err(), Some(ErrorKind::ConnectionRefused));
}
