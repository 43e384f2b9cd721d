//! The line-by-line chat client, for when stdin or stdout is not a terminal (so it can be
//! scripted): each input line is parsed with the chat text grammar and sent as JSON; each event is
//! printed as the server's text rendering, with whispers marked `>>>` / `<<<`, and, as in text
//! mode, with `[#room] ` before the lines of a room while the user is in more than one.

use sockhub_proto::chat::{self, ChatEvent, ChatRequest, InRoom, Phase};
use sockhub_proto::wire::{Mode, render};
use tokio::io::AsyncWriteExt;

use super::rooms::Rooms;
use super::{ChatOptions, login, mark_outgoing, show};
use crate::conn::ClientError;
use crate::line_mode::{self, Shown};

/// Run line by line on stdin/stdout until the user quits (a quit line, end of input, Ctrl-C) or
/// the server closes. Returns false when the login was refused, or when the server ended the
/// session without a `bye` (the connection was lost).
pub async fn run_lines(opts: ChatOptions) -> Result<bool, ClientError> {
    let mut stdout = tokio::io::stdout();
    let (rx, tx, first) = login(&opts).await?;
    stdout.write_all(format!("{}\n", show(&first)).as_bytes()).await?;
    stdout.flush().await?;
    let ChatEvent::Welcome { name: me, .. } = &first else {
        return Ok(false);
    };
    let me = me.clone();
    let mut rooms = Rooms::default();
    rooms.on_event(&first, &me);
    line_mode::run(
        rx,
        tx,
        |line: &str| chat::parse_text(line, &Phase::Room),
        ChatRequest::Quit,
        move |mut event: ChatEvent| {
            mark_outgoing(&mut event, &me);
            rooms.on_event(&event, &me);
            if matches!(event, ChatEvent::Bye { .. }) {
                Shown::Bye(show(&event))
            } else if rooms.joined().len() > 1 {
                Shown::Line(render(&InRoom(event), Mode::Text).trim_end().to_owned())
            } else {
                Shown::Line(show(&event))
            }
        },
    )
    .await
}
