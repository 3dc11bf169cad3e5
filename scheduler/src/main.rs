fn main() {
    eprintln!("ow-scheduler: not implemented yet (see the project's issues)");
    std::process::exit(64);
}
