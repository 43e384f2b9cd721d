//! The line-by-line calculator client, for when stdin or stdout is not a terminal: each input
//! line is parsed with the calculator's text grammar and sent as JSON; each event is printed as
//! the server's text rendering.

use sockhub_proto::calc::{self, CalcEvent, CalcRequest, Phase};
use tokio::io::AsyncWriteExt;

use super::{CalcOptions, login, show};
use crate::conn::ClientError;
use crate::line_mode::{self, Shown};

/// Run line by line on stdin/stdout until the user leaves (a quit line, end of input, Ctrl-C)
/// or the server closes. Returns false when the login was refused, or when the connection ended
/// without the server's `bye`.
pub async fn run_lines(opts: CalcOptions) -> Result<bool, ClientError> {
    let mut stdout = tokio::io::stdout();
    let (rx, tx, first) = login(opts.endpoint(), &opts.student_id, opts.password.clone()).await?;
    stdout.write_all(format!("{}\n", show(&first)).as_bytes()).await?;
    stdout.flush().await?;
    if !matches!(first, CalcEvent::Welcome { .. }) {
        return Ok(false);
    }
    line_mode::run(
        rx,
        tx,
        |line: &str| calc::parse_text(line, Phase::Calculating),
        CalcRequest::Quit,
        |event: CalcEvent| {
            if matches!(event, CalcEvent::Bye { .. }) {
                Shown::Bye(show(&event))
            } else {
                Shown::Line(show(&event))
            }
        },
    )
    .await
}
