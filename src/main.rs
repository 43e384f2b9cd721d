//! The `sockhub` binary: parse the command line, then hand over to the subcommand in [`cli`].
//! `anyhow` is used here, at the edge, and nowhere in the libraries.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sockhub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
