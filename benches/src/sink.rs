//! A minimal HTTP/1.1 server that accepts every request with
//! `{"results": 0, "failed": 0}` without reading the body's JSON: a stand-in
//! for a remote Bento that costs this machine almost no CPU, so that a
//! benchmark measures the client, not a co-located server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

/// A running sink.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    hold: Arc<Hold>,
}

/// Whether answers are held, with a condition variable so held connections
/// sleep without waking up (a polling loop would preempt the measured thread).
#[derive(Debug, Default)]
struct Hold {
    held: Mutex<bool>,
    released: Condvar,
}

impl Sink {
    /// Starts on `127.0.0.1:0`; it serves until the process exits.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let hold = Arc::new(Hold::default());
        let (counter, held) = (Arc::clone(&requests), Arc::clone(&hold));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (counter, held) = (Arc::clone(&counter), Arc::clone(&held));
                std::thread::spawn(move || {
                    // A closed or broken connection just ends its thread.
                    let _ = serve(stream, &counter, &held);
                });
            }
        });
        Ok(Self {
            addr,
            requests,
            hold,
        })
    }

    /// The API root to point a client at.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// While set, requests wait for their answer (and the client's delivery
    /// thread, its requests in flight, waits with them).
    pub fn hold(&self, hold: bool) {
        *self.hold.held.lock().unwrap_or_else(|p| p.into_inner()) = hold;
        if !hold {
            self.hold.released.notify_all();
        }
    }

    /// Times `iters` calls in runs of at most 5,000 (`run(n)` makes `n`
    /// calls) while the sink holds its answers, so the delivery thread only
    /// takes items off the queue; between runs the sink answers and `flush`
    /// drains the queue, untimed. What a caller pays, for `iter_custom`.
    pub fn time_held(
        &self,
        iters: u64,
        mut run: impl FnMut(u64),
        mut flush: impl FnMut(),
    ) -> std::time::Duration {
        let mut elapsed = std::time::Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(5000);
            self.hold(true);
            let started = std::time::Instant::now();
            run(n);
            elapsed += started.elapsed();
            self.hold(false);
            flush();
            left -= n;
        }
        elapsed
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn serve(stream: TcpStream, requests: &AtomicU64, hold: &Hold) -> std::io::Result<()> {
    // Each answer leaves in one write, at once: with Nagle's algorithm a
    // small answer waited for the client's delayed ACK (40 ms a request).
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
        let mut held = hold.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held {
            held = hold.released.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        drop(held);
        requests.fetch_add(1, Ordering::Relaxed);
        let answer = r#"{"results":0,"failed":0}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        writer.write_all(response.as_bytes())?;
    }
}
