//! The line-by-line quiz client, for when stdin or stdout is not a terminal: each input line is
//! parsed with the quiz text grammar (a number answers the open question; `/scores`, `/start`,
//! `/help`, `/quit`) and sent as JSON; each event is printed as the server's text rendering.

use sockhub_proto::quiz::{self, Phase, QuizEvent, QuizRequest};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{Incoming, QuizOptions, show, spawn_reader, start};
use crate::conn::ClientError;

/// Play line by line until the server ends the session or the user leaves. Returns false when the
/// login was refused or the connection was lost without a `bye`.
pub async fn run_lines(opts: QuizOptions) -> Result<bool, ClientError> {
    let mut stdout = tokio::io::stdout();
    let (rx, mut tx, first, log) = start(&opts).await?;
    stdout.write_all(format!("{}\n", show(&first)).as_bytes()).await?;
    stdout.flush().await?;
    if !matches!(first, QuizEvent::Welcome { .. }) {
        return Ok(false);
    }
    let mut incoming = spawn_reader(rx, log);
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let mut open: Option<u64> = None;
    let mut input_open = true;
    loop {
        tokio::select! {
            msg = incoming.recv() => match msg {
                Some(Incoming::Event(event)) => {
                    match &event {
                        QuizEvent::Question { id, .. } => open = Some(*id),
                        QuizEvent::Verdict { .. } => open = None,
                        _ => {}
                    }
                    stdout.write_all(format!("{}\n", show(&event)).as_bytes()).await?;
                    stdout.flush().await?;
                    if let QuizEvent::Bye { .. } = event {
                        return Ok(true);
                    }
                }
                Some(Incoming::Closed(_)) | None => return Ok(false),
            },
            line = input.next_line(), if input_open => match line? {
                Some(line) => match quiz::parse_text(&line, &Phase::Playing) {
                    Ok(Some(QuizRequest::Answer { value, .. })) => {
                        tx.send(&QuizRequest::Answer { id: open, value }).await?;
                    }
                    Ok(Some(request)) => tx.send(&request).await?,
                    Ok(None) => {}
                    Err(e) => eprintln!("! {}: {}", e.code, e.message),
                },
                // End of input: keep showing what the server sends until it says bye.
                None => input_open = false,
            },
            _ = tokio::signal::ctrl_c() => tx.send(&QuizRequest::Quit).await?,
        }
    }
}
