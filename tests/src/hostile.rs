//! A hostile HTTP server for the hardening tests and the memory bench: it
//! answers each request with a script of raw bytes, pauses, endless or
//! truncated bodies, resets and lies, so the client can be checked against
//! every way a server (or a proxy in front of Bento) misbehaves.
//!
//! It speaks just enough HTTP/1.1 to read one request per connection (head
//! and `Content-Length` body); every answer closes the connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One step of an answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// Writes these bytes.
    Write(Vec<u8>),
    /// Waits.
    Sleep(Duration),
    /// Writes this chunk over and over (a chunked body that never ends),
    /// until the client goes away or `limit` bytes were written.
    Endless {
        /// The chunk, already framed or not: written as is.
        chunk: Vec<u8>,
        /// A bound, so the test ends even if the client reads forever.
        limit: u64,
    },
    /// Closes the connection with a TCP reset.
    Reset,
}

/// A whole answer: the steps, then the connection closes.
#[derive(Debug, Clone)]
pub struct Script(pub Vec<Step>);

impl Script {
    /// A complete response with a body and a `Content-Length`.
    pub fn status(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        Script(vec![Step::Write(bytes)])
    }

    /// Bento's answer to a good batch of `n` items.
    pub fn accepted(n: usize) -> Self {
        Self::status(
            200,
            &[("content-type", "application/json")],
            format!(r#"{{"results":{n},"failed":0}}"#),
        )
    }

    /// Raw bytes, then close.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        Script(vec![Step::Write(bytes.into())])
    }

    /// Waits first, then the rest.
    pub fn after(mut self, delay: Duration) -> Self {
        self.0.insert(0, Step::Sleep(delay));
        self
    }
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `POST /api/v1/batch/events?...`.
    pub request_line: String,
    /// How many items the JSON body's array held, if it had one.
    pub items: usize,
}

type Answer = dyn Fn(usize, &Seen) -> Script + Send + Sync;

/// The server. Dropping it stops accepting.
pub struct Hostile {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Hostile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hostile")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Hostile {
    /// Starts on `127.0.0.1:0`; `answer` gets the request's index (from 0)
    /// and what was seen, and says how to answer.
    pub async fn start(answer: impl Fn(usize, &Seen) -> Script + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let counter = Arc::new(AtomicUsize::new(0));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, counter, log) =
                    (Arc::clone(&answer), Arc::clone(&counter), Arc::clone(&log));
                tokio::spawn(async move {
                    let _ = serve(stream, &*answer, &counter, &log).await;
                });
            }
        });
        Self {
            address,
            seen,
            task,
        }
    }

    /// The API root to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.address)
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    answer: &Answer,
    counter: &AtomicUsize,
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let seen = read_request(&mut stream).await?;
    let index = counter.fetch_add(1, Ordering::SeqCst);
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(seen.clone());
    for step in answer(index, &seen).0 {
        match step {
            Step::Write(bytes) => stream.write_all(&bytes).await?,
            Step::Sleep(delay) => tokio::time::sleep(delay).await,
            Step::Endless { chunk, limit } => {
                let mut written = 0u64;
                while written < limit {
                    stream.write_all(&chunk).await?;
                    written += chunk.len() as u64;
                }
            }
            Step::Reset => {
                // Deprecated because a non-zero linger blocks on drop; zero
                // does not, and is how a reset is sent.
                #[allow(deprecated)]
                stream.set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
        }
    }
    stream.flush().await?;
    stream.shutdown().await
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Seen> {
    let mut buffer = Vec::with_capacity(8192);
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > 1 << 20 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let mut chunk = vec![0u8; (head_end + length - buffer.len()).min(1 << 16)];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = &buffer[head_end..];
    let items = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .as_object()?
                .values()
                .find_map(|member| member.as_array().map(Vec::len))
        })
        .unwrap_or(0);
    Ok(Seen {
        request_line: head.lines().next().unwrap_or_default().to_owned(),
        items,
    })
}
