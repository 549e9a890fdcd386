//! The `aura` binary: everything lives in the library; see `aura::cli`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    aura::cli::main()
}
