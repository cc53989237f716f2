//! What the benchmarks share: a realistic `$purchase` event written three
//! ways, and an allocator that counts allocations.

pub mod alloc;
pub mod purchase;
