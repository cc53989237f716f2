//! Encoding the benchmark `$purchase` N times with the client's checks
//! (`events::encode_into`, what `track` does before queueing), for counting
//! instructions with callgrind: unlike wall-clock time on a shared VM, the
//! count is the same run after run.
//!
//! ```sh
//! cargo build --release -p bento-benches --bin encode_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null ./target/release/encode_instructions 100000
//! ```
//! Divide the "Collected" total by N (the start-up is a few hundred thousand).
//! A second argument `enum` encodes the same purchase as a variant of an
//! enum of events instead (`bento_benches::purchase::ShopEvent`).

use std::hint::black_box;

use bento_benches::purchase::{purchase, shop_purchase};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let as_enum = std::env::args().nth(2).as_deref() == Some("enum");
    let mut buf = Vec::with_capacity(1024);
    if as_enum {
        let event = shop_purchase();
        for _ in 0..n {
            buf.clear();
            bento_core::events::encode_into(black_box(&event), &mut buf).expect("valid");
            black_box(&buf);
        }
    } else {
        let event = purchase();
        for _ in 0..n {
            buf.clear();
            bento_core::events::encode_into(black_box(&event), &mut buf).expect("valid");
            black_box(&buf);
        }
    }
    println!("{} bytes per event", buf.len());
}
