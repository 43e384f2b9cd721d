//! The line-by-line chat client, for when stdin or stdout is not a terminal (so it can be
//! scripted): each input line is parsed with the chat text grammar and sent as JSON; each event is
//! printed as the server's text rendering, with whispers marked `>>>` / `<<<`.

use sockhub_proto::chat::{self, ChatEvent, ChatRequest, Phase};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{ChatOptions, login, mark_outgoing, show};
use crate::conn::ClientError;

/// Run line by line on stdin/stdout until the user quits (a quit line, end of input, Ctrl-C) or
/// the server closes. Returns false when the login was refused, or when the server ended the
/// session without a `bye` (the connection was lost).
pub async fn run_lines(opts: ChatOptions) -> Result<bool, ClientError> {
    let mut stdout = tokio::io::stdout();
    let (mut rx, mut tx, first) = login(&opts).await?;
    stdout.write_all(format!("{}\n", show(&first)).as_bytes()).await?;
    stdout.flush().await?;
    let ChatEvent::Welcome { name: me, .. } = first else {
        return Ok(false);
    };
    // Prints until the server's bye (true) or the end of the connection without one (false).
    let mut printer = tokio::spawn(async move {
        while let Some(mut event) = rx.recv::<ChatEvent>().await? {
            mark_outgoing(&mut event, &me);
            stdout.write_all(format!("{}\n", show(&event)).as_bytes()).await?;
            stdout.flush().await?;
            if matches!(event, ChatEvent::Bye { .. }) {
                return Ok(true);
            }
        }
        Ok::<_, ClientError>(false)
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
            // The server ended the session (its bye, or a dropped connection): nothing more
            // can be sent, so stop reading input rather than wait for a line that goes nowhere.
            said_bye = &mut printer => return said_bye.map_err(std::io::Error::other)?,
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
