//! `sockhub chat`: log in, then send what the user types and print what arrives.
//!
//! This module is the line-by-line client, used when stdin or stdout is not a terminal (so it can
//! be scripted): each input line is parsed with the chat text grammar and sent as JSON; each event
//! is printed as the server's text rendering, with whispers marked `>>>` / `<<<`.

use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase};
use sockhub_proto::secret::Secret;
use sockhub_proto::wire::{Mode, render};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::conn::{self, ClientError, JsonReader, JsonWriter};

/// What the chat client needs to start.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    pub addr: String,
    pub name: String,
    pub password: Option<Secret>,
}

/// Connect and log in; returns the connection and the welcome (or the server's refusal).
pub async fn login(opts: &ChatOptions) -> Result<(JsonReader, JsonWriter, ChatEvent), ClientError> {
    let (mut rx, mut tx) = conn::connect(&opts.addr).await?;
    tx.send(&ChatRequest::Login { name: opts.name.clone(), password: opts.password.clone() }).await?;
    let first = rx
        .recv::<ChatEvent>()
        .await?
        .ok_or_else(|| std::io::Error::other("the server closed the connection"))?;
    Ok((rx, tx, first))
}

/// Mark whispers we sent, so they render as `>>>`.
pub fn mark_outgoing(event: &mut ChatEvent, me: &str) {
    if let ChatEvent::Whisper { from, outgoing, .. } = event {
        *outgoing = from == me;
    }
}

/// The text form of an event, as the user sees it (without the trailing newline).
pub fn show(event: &ChatEvent) -> String {
    render(event, Mode::Text).trim_end().to_owned()
}

/// Run line by line on stdin/stdout until the user quits or the server closes. Returns whether
/// the session ended normally.
pub async fn run_lines(opts: ChatOptions) -> Result<bool, ClientError> {
    let mut stdout = tokio::io::stdout();
    let (mut rx, mut tx, first) = login(&opts).await?;
    stdout.write_all(format!("{}\n", show(&first)).as_bytes()).await?;
    if !matches!(first, ChatEvent::Welcome { .. }) {
        return Ok(false);
    }
    let me = opts.name.clone();
    let printer = tokio::spawn(async move {
        while let Some(mut event) = rx.recv::<ChatEvent>().await? {
            mark_outgoing(&mut event, &me);
            stdout.write_all(format!("{}\n", show(&event)).as_bytes()).await?;
            stdout.flush().await?;
            if matches!(event, ChatEvent::Bye { .. }) {
                break;
            }
        }
        Ok::<_, ClientError>(())
    });
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = input.next_line() => match line? {
                Some(line) => match chat::parse_text(&line, &Phase::Room) {
                    Ok(Some(request)) => {
                        let quit = request == ChatRequest::Quit;
                        tx.send(&request).await?;
                        if quit { break; }
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("! {}: {}", e.code, e.message),
                },
                None => {
                    tx.send(&ChatRequest::Quit).await?;
                    break;
                }
            },
            _ = tokio::signal::ctrl_c() => {
                tx.send(&ChatRequest::Quit).await?;
                break;
            }
        }
    }
    // Wait for the server's bye (or its close) so nothing in flight is lost.
    printer.await.map_err(std::io::Error::other)??;
    Ok(true)
}
