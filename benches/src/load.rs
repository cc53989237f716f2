//! A small HTTP/1.1 load generator: keep-alive connections, each sending
//! `GET /hello` and reading the answer in a loop, counted over a fixed time
//! after a warm-up. No wrk or oha on this machine, and this is enough to
//! compare servers with each other.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Requests per second `addr` answers over `seconds`, after one second of warm-up.
pub fn requests_per_second(addr: SocketAddr, connections: usize, seconds: u64) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("load runtime");
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..connections {
            let (counting, done, count) = (counting.clone(), done.clone(), count.clone());
            clients.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut buf = vec![0u8; 4096];
                while !done.load(Ordering::Relaxed) {
                    stream
                        .write_all(b"GET /hello HTTP/1.1\r\nhost: bench\r\n\r\n")
                        .await
                        .expect("write");
                    read_response(&mut stream, &mut buf).await;
                    if counting.load(Ordering::Relaxed) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        counting.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let served = count.load(Ordering::Relaxed);
        let elapsed = started.elapsed();
        done.store(true, Ordering::Relaxed);
        for client in clients {
            let _ = client.await;
        }
        served as f64 / elapsed.as_secs_f64()
    })
}

/// Reads one response: headers, then `content-length` bytes of body.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        filled += n;
        let head = &buf[..filled];
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            let length: usize = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if filled >= end + 4 + length {
                return;
            }
        }
    }
}

/// Median of each variant's figures over alternating rounds, printed as a table.
pub fn report(
    framework: &str,
    names: &[&str],
    mut results: Vec<Vec<f64>>,
    connections: usize,
    seconds: u64,
) {
    let medians: Vec<f64> = results
        .iter_mut()
        .map(|values| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        })
        .collect();
    println!(
        "\n{framework}: {connections} connections, {seconds} s per measurement, median of {} rounds:",
        results[0].len()
    );
    for (name, median) in names.iter().zip(&medians) {
        println!(
            "  {name:<34} {median:>9.0} requests/s ({:.3}x)",
            median / medians[0]
        );
    }
}
