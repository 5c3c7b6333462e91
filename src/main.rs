fn main() {
    std::process::exit(stampd::cli::main());
}
