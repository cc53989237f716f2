//! A TCP proxy on loopback that holds every chunk a client writes for a
//! random time before passing it on: a request granted by a rate limiter
//! reaches the server late, as it would from a starved thread, a slow
//! connect or a stalled database. Answers pass through at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy; it stops when dropped.
#[derive(Debug)]
pub struct LateProxy {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    delayed: Arc<AtomicU64>,
}

impl LateProxy {
    /// Forwards to `upstream` (`host:port`), holding each chunk from the
    /// client for a uniformly random time in `0..=max_delay`; `seed` makes
    /// the delays repeatable.
    pub async fn start(upstream: SocketAddr, max_delay: Duration, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let delayed = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&delayed);
        let task = tokio::spawn(async move {
            let mut connection = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                connection += 1;
                let rng = fastrand::Rng::with_seed(seed.wrapping_mul(1_000_003) ^ connection);
                tokio::spawn(relay(
                    client,
                    upstream,
                    max_delay,
                    rng,
                    Arc::clone(&counter),
                ));
            }
        });
        Self {
            addr,
            task,
            delayed,
        }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of an emulator behind the proxy (`emulator_url`'s path kept).
    pub fn url_for(&self, emulator_url: &str) -> String {
        let path = emulator_url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        format!("http://{}{path}", self.addr)
    }

    /// Chunks held back so far.
    pub fn delayed(&self) -> u64 {
        self.delayed.load(Ordering::Relaxed)
    }
}

impl Drop for LateProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    max_delay: Duration,
    mut rng: fastrand::Rng,
    delayed: Arc<AtomicU64>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let up = async move {
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = match from_client.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let ms = rng.u64(0..=max_delay.as_millis() as u64);
            delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if to_server.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = to_server.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    tokio::join!(up, down);
}
