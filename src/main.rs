//! `pvstation` binary: parse the command line and dispatch. All logic lives in the library.

fn main() -> std::process::ExitCode {
    pvstation::cli::main()
}
