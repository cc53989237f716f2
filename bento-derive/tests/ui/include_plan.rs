// No plan above the UI crates: include_plan!() says where it looked.
fn main() {
    let _ = bento_core::include_plan!();
    let _ = bento_core::include_plan!("shop.toml");
}
