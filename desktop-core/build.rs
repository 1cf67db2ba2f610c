//! Rebuilds the crate when a replica migration is added or changed: refinery
//! embeds `migrations/sqlite/` at compile time.

fn main() {
    println!("cargo:rerun-if-changed=../migrations/sqlite");
}
