fn main() {
    // Migrations are embedded at compile time; a new file in sql/ must trigger a rebuild.
    println!("cargo:rerun-if-changed=sql");
}
