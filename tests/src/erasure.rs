//! What the erasure tests check on every store: Bento refused some batches
//! before the erasure, and nothing that reached it afterwards carries the
//! person (but the deletion request itself).

use std::time::Duration;

use bento_emulator::Emulator;

use crate::contract::Exchange;
use crate::wait::eventually;

/// Waits until Bento answered `n` requests with `status`.
pub async fn refused(emulator: &Emulator, status: u16, n: usize) {
    eventually(
        &format!("{n} requests answered {status}"),
        Duration::from_secs(30),
        || {
            emulator
                .requests()
                .iter()
                .filter(|r| r.status == status)
                .count()
                >= n
        },
    )
    .await;
}

/// Fails when a request in `after` (the exchanges since the erasure
/// returned), other than the deletion request, carries `email`; `after`
/// must hold some (the others' deliveries).
pub fn none_carries(after: &[Exchange], email: &str) {
    assert!(!after.is_empty(), "the others were delivered after it");
    for exchange in after {
        let body = String::from_utf8_lossy(&exchange.request);
        assert!(
            exchange.path == "data_deletion_requests" || !body.contains(email),
            "{} /{} carried the erased person after the erasure: {body}",
            exchange.method,
            exchange.path
        );
    }
}
