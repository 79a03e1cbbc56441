//! The `bpfcase` binary: parses arguments and dispatches; all work lives in the library.

fn main() -> std::process::ExitCode {
    bpfcase::cli::main()
}
