//! `sockhub chat`: the terminal chat client — full screen on a terminal, line by line when stdin
//! or stdout is a pipe or a file (so it can be scripted).

use std::process::ExitCode;

use clap::Args;
use sockhub_client::chat::{self, ChatOptions};
use sockhub_proto::secret::Secret;

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Your name in the room. For an account, the password is asked for on a terminal, or read from
    /// the SOCKHUB_PASSWORD environment variable.
    #[arg(long, short = 'n')]
    name: String,
    /// The chat server.
    #[arg(long, short = 'a', default_value = "127.0.0.1:7001")]
    addr: String,
    #[command(flatten)]
    tls: super::TlsArgs,
}

/// The environment variable a script can use to pass an account's password (a flag would show in
/// the process list). On a terminal the client asks instead.
const PASSWORD_ENV: &str = "SOCKHUB_PASSWORD";

/// The password from [`PASSWORD_ENV`], if set (the calculator client reads it too).
pub fn password_from_env() -> Option<Secret> {
    std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()).map(Secret::new)
}

pub async fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let password = password_from_env();
    let opts = ChatOptions { addr: args.addr, tls: args.tls.client()?, name: args.name, password };
    let ok = chat::run(opts).await?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
