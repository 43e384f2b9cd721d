//! A TCP connection in JSON mode.
//!
//! The server greets every new connection in text (it cannot know the client's mode before the
//! client's first line); JSON clients skip lines that do not start with `{` until the first JSON
//! reply. [`connect`] returns a [`JsonReader`] that does that and a [`JsonWriter`]; both then
//! carry one JSON object per line.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

/// A client-side error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server sent a line that is not a valid message: {line} ({error})")]
    Decode { line: String, error: serde_json::Error },
}

/// The reading half of a JSON-mode connection.
pub struct JsonReader {
    lines: BufReader<OwnedReadHalf>,
    buf: String,
}

/// The writing half of a JSON-mode connection.
pub struct JsonWriter {
    out: OwnedWriteHalf,
    buf: Vec<u8>,
}

/// Connect and return the two halves.
pub async fn connect(addr: impl ToSocketAddrs) -> Result<(JsonReader, JsonWriter), ClientError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    Ok((
        JsonReader { lines: BufReader::new(read), buf: String::new() },
        JsonWriter { out: write, buf: Vec::new() },
    ))
}

impl JsonReader {
    /// The next JSON message, or `None` at end of stream. Non-JSON lines (the text greeting) are
    /// skipped.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ClientError> {
        loop {
            self.buf.clear();
            if self.lines.read_line(&mut self.buf).await? == 0 {
                return Ok(None);
            }
            let line = self.buf.trim_end();
            if !line.starts_with('{') {
                continue;
            }
            return serde_json::from_str(line)
                .map(Some)
                .map_err(|error| ClientError::Decode { line: line.to_owned(), error });
        }
    }
}

impl JsonWriter {
    /// Send one message as a JSON line.
    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), ClientError> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, msg).map_err(std::io::Error::other)?;
        self.buf.push(b'\n');
        self.out.write_all(&self.buf).await?;
        Ok(())
    }

    /// Half-close: tell the server we are done sending.
    pub async fn shutdown(&mut self) -> Result<(), ClientError> {
        self.out.shutdown().await?;
        Ok(())
    }
}

/// Asks for `name`'s password on the terminal, without echo (the login answered
/// `password_required` and none was given).
pub async fn prompt_password(name: &str) -> Result<sockhub_proto::secret::Secret, ClientError> {
    let prompt = format!("Password for {name}: ");
    let typed = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await
        .map_err(std::io::Error::other)??;
    Ok(sockhub_proto::secret::Secret::new(typed))
}
