//! `sockhub chat`: the terminal chat client — full screen on a terminal, line by line when stdin
//! or stdout is a pipe or a file (so it can be scripted).

use std::process::ExitCode;

use clap::Args;
use sockhub_client::chat::{self, ChatOptions};

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Your name in the room.
    #[arg(long, short = 'n')]
    name: String,
    /// The chat server.
    #[arg(long, short = 'a', default_value = "127.0.0.1:7001")]
    addr: String,
}

pub async fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let opts = ChatOptions { addr: args.addr, name: args.name, password: None };
    let ok = chat::run(opts).await?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
