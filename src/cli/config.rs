//! `sockhub config`: print the effective configuration (defaults, file, environment) as a
//! commented TOML file.

use std::process::ExitCode;

use super::ConfigFile;

pub fn run(args: ConfigFile) -> anyhow::Result<ExitCode> {
    let config = args.load(&[])?;
    print!("{}", config.to_commented_toml());
    Ok(ExitCode::SUCCESS)
}
