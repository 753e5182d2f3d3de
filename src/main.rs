//! The `camlens` binary: the command line of `src/cli/`, over the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
