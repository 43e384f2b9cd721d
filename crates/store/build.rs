//! Rebuilds the crate when a migration file is added or changed: `sqlx::migrate!` embeds the
//! files at compile time, and cargo would otherwise not notice a new file in the directory.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
