//! A TCP load balancer in front of several gateway instances, as in a real deployment: the
//! issuer URL points here, and the test chooses which instance takes the next connection.
//! Browsers in tests keep no idle connections, so every request is a new connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

pub struct Balancer {
    target: Arc<AtomicUsize>,
}

impl Balancer {
    pub fn start(listener: TcpListener, backends: Vec<SocketAddr>) -> Balancer {
        let target = Arc::new(AtomicUsize::new(0));
        let chosen = target.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let backend = backends[chosen.load(Ordering::SeqCst) % backends.len()];
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Balancer { target }
    }

    /// Sends the next connections to instance `i` (0-based).
    pub fn route_to(&self, i: usize) {
        self.target.store(i, Ordering::SeqCst);
    }
}
