//! What the benchmarks share: a realistic `$purchase` event written three
//! ways, an allocator that counts allocations, and emulator/client setup.

pub mod alloc;
pub mod load;
pub mod purchase;
pub mod setup;
pub mod sink;
