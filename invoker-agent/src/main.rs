fn main() {
    eprintln!("ow-invoker-agent: not implemented yet (see the project's issues)");
    std::process::exit(64);
}
