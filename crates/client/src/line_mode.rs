//! The line-by-line loop every terminal client falls back to when stdin or stdout is not a
//! terminal (a pipe, a script): each input line is parsed with the service's text grammar and
//! sent as JSON; each event from the server is printed as one or more text lines.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sockhub_proto::ErrorEvent;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::conn::{ClientError, JsonReader, JsonWriter};

/// What [`run`] prints for one event from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// This text; more events follow.
    Line(String),
    /// This text, the server's last word (its `bye`): the loop ends after printing it.
    Bye(String),
}

/// Run until the user leaves (`quit`, sent also at end of input and on Ctrl-C) or the server
/// closes. `parse` turns a typed line into a request (`Ok(None)`: nothing to send); `show` gives
/// the text to print for an event ([`Shown::Bye`] for the server's final `bye`). Returns true if
/// the server said `bye` (or the user left), false if the connection ended without one.
pub async fn run<Req, Ev, P, S>(
    mut rx: JsonReader,
    mut tx: JsonWriter,
    parse: P,
    quit: Req,
    mut show: S,
) -> Result<bool, ClientError>
where
    Req: Serialize + PartialEq,
    Ev: DeserializeOwned + Send + 'static,
    P: Fn(&str) -> Result<Option<Req>, ErrorEvent>,
    S: FnMut(Ev) -> Shown + Send + 'static,
{
    // Prints until the server's bye (true) or the end of the connection without one (false).
    let mut printer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(event) = rx.recv::<Ev>().await? {
            let (text, bye) = match show(event) {
                Shown::Line(text) => (text, false),
                Shown::Bye(text) => (text, true),
            };
            stdout.write_all(format!("{text}\n").as_bytes()).await?;
            stdout.flush().await?;
            if bye {
                return Ok(true);
            }
        }
        Ok::<_, ClientError>(false)
    });
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = input.next_line() => match line? {
                Some(line) => match parse(&line) {
                    Ok(Some(request)) => {
                        tx.send(&request).await?;
                        if request == quit { break; }
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("! {}: {}", e.code, e.message),
                },
                None => {
                    tx.send(&quit).await?;
                    break;
                }
            },
            // The server ended the session (its bye, or a dropped connection): nothing more
            // can be sent, so stop reading input rather than wait for a line that goes nowhere.
            said_bye = &mut printer => return said_bye.map_err(std::io::Error::other)?,
            _ = tokio::signal::ctrl_c() => {
                tx.send(&quit).await?;
                break;
            }
        }
    }
    // Wait for the server's bye (or its close) so nothing in flight is lost.
    printer.await.map_err(std::io::Error::other)??;
    Ok(true)
}
