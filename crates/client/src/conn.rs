//! A TCP connection in JSON mode, plain or over TLS.
//!
//! The server greets a new connection in text (it cannot know the client's mode before the
//! client's first line), before its first reply; JSON clients skip lines that do not start with `{` until the first JSON
//! reply. [`connect`] returns a [`JsonReader`] that does that and a [`JsonWriter`]; both then
//! carry one JSON object per line.
//!
//! An [`Endpoint`] is where to connect: an address, and the TLS settings when the port is a TLS
//! one (`--tls`). With TLS the server's certificate must verify against the system's roots or the
//! given CA and carry the host name of the address; otherwise connecting fails with the reason,
//! and nothing is ever sent in plain text instead.

use serde::Serialize;
use serde::de::DeserializeOwned;
pub use sockhub_tls::ClientTls;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A client-side error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server sent a line that is not a valid message: {line} ({error})")]
    Decode { line: String, error: serde_json::Error },
}

/// Where a client connects: `host:port`, and TLS settings for a TLS port.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: String,
    pub tls: Option<ClientTls>,
}

impl Endpoint {
    /// A plain-text port.
    pub fn plain(addr: impl Into<String>) -> Endpoint {
        Endpoint { addr: addr.into(), tls: None }
    }
}

impl From<&str> for Endpoint {
    fn from(addr: &str) -> Endpoint {
        Endpoint::plain(addr)
    }
}

impl From<&String> for Endpoint {
    fn from(addr: &String) -> Endpoint {
        Endpoint::plain(addr.as_str())
    }
}

impl From<&Endpoint> for Endpoint {
    fn from(to: &Endpoint) -> Endpoint {
        to.clone()
    }
}

/// Either half of a plain or TLS connection.
type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// The reading half of a JSON-mode connection.
pub struct JsonReader {
    lines: BufReader<ReadHalf>,
    buf: String,
}

/// The writing half of a JSON-mode connection.
pub struct JsonWriter {
    out: WriteHalf,
    buf: Vec<u8>,
}

/// Connect (with the TLS handshake on a TLS endpoint) and return the two halves.
pub async fn connect(to: impl Into<Endpoint>) -> Result<(JsonReader, JsonWriter), ClientError> {
    let (read, write) = open(&to.into()).await?;
    Ok((
        JsonReader { lines: BufReader::new(read), buf: String::new() },
        JsonWriter { out: write, buf: Vec::new() },
    ))
}

/// Open a byte stream to `to`: a TCP connection, wrapped in TLS when `to` says so.
pub async fn open(to: &Endpoint) -> std::io::Result<(ReadHalf, WriteHalf)> {
    let stream = TcpStream::connect(to.addr.as_str()).await?;
    stream.set_nodelay(true)?;
    Ok(match &to.tls {
        None => {
            let (read, write) = stream.into_split();
            (Box::new(read), Box::new(write))
        }
        Some(tls) => {
            let stream = tls.connect(sockhub_tls::host_of(&to.addr), stream).await?;
            let (read, write) = tokio::io::split(stream);
            (Box::new(read), Box::new(write))
        }
    })
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
        // A TLS stream holds the record until flushed.
        self.out.flush().await?;
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
    let prompt = format!("{} ", sockhub_i18n::t!("client-password-prompt", name = name));
    let typed = tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
        .await
        .map_err(std::io::Error::other)??;
    Ok(sockhub_proto::secret::Secret::new(typed))
}
