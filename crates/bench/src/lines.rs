//! A JSON-lines connection for the service scenarios (quiz, calc, relay): connect, write one
//! JSON request per line, read one event per line.
//!
//! The chat scenarios count lines without parsing them ([`crate::client`]); the service
//! scenarios must read their events (a verdict, a result, an acknowledgement) to act on them, so
//! they use this instead. Reading goes through a `FramedRead` so that it can sit in a
//! `tokio::select!` beside a timer without losing half a line when the timer wins.

use std::net::SocketAddr;

use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{FramedRead, LinesCodec};

use crate::error::ClientError;

/// The longest line accepted from the server (a final leaderboard or a welcome with a history is
/// the longest a service sends).
const MAX_LINE: usize = 1 << 20;

/// One connection speaking JSON lines.
pub struct JsonLines {
    reader: FramedRead<Box<dyn AsyncRead + Send + Unpin>, LinesCodec>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    out: Vec<u8>,
}

impl JsonLines {
    /// Connect to `addr` (`TCP_NODELAY` on: the scenarios measure latency).
    pub async fn connect(addr: SocketAddr) -> Result<Self, ClientError> {
        Self::connect_with(addr, None).await
    }

    /// Connect to `addr`, over TLS when `tls` is given (verifying the server as the address's IP).
    pub async fn connect_with(
        addr: SocketAddr,
        tls: Option<&sockhub_tls::ClientTls>,
    ) -> Result<Self, ClientError> {
        let stream = TcpStream::connect(addr).await.map_err(ClientError::io(format!("connect {addr}")))?;
        let _ = stream.set_nodelay(true);
        let (rd, writer): (Box<dyn AsyncRead + Send + Unpin>, Box<dyn AsyncWrite + Send + Unpin>) = match tls
        {
            None => {
                let (rd, wr) = stream.into_split();
                (Box::new(rd), Box::new(wr))
            }
            Some(tls) => {
                let stream = tls
                    .connect(&addr.ip().to_string(), stream)
                    .await
                    .map_err(ClientError::io("TLS handshake"))?;
                let (rd, wr) = tokio::io::split(stream);
                (Box::new(rd), Box::new(wr))
            }
        };
        Ok(JsonLines {
            reader: FramedRead::new(rd, LinesCodec::new_with_max_length(MAX_LINE)),
            writer,
            out: Vec::new(),
        })
    }

    /// Queue `request` as one line; nothing is written until [`JsonLines::flush`].
    pub fn push(&mut self, request: &impl Serialize) {
        // Serializing the scenarios' own request values cannot fail.
        let _ = serde_json::to_writer(&mut self.out, request);
        self.out.push(b'\n');
    }

    /// Write everything queued, in one write.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        if self.out.is_empty() {
            return Ok(());
        }
        // TLS holds the last record until flushed; for TCP the flush is free.
        let result = async {
            self.writer.write_all(&self.out).await?;
            self.writer.flush().await
        }
        .await
        .map_err(ClientError::io("write"));
        self.out.clear();
        result
    }

    /// Write one request now.
    pub async fn send(&mut self, request: &impl Serialize) -> Result<(), ClientError> {
        self.push(request);
        self.flush().await
    }

    /// The next line, `None` once the server closed the connection. Cancel-safe.
    pub async fn next_line(&mut self) -> Option<Result<String, ClientError>> {
        self.reader.next().await.map(|r| r.map_err(ClientError::Read))
    }

    /// Read lines until one parses as a `T` that `want` accepts; `Err` with the line if the
    /// server sends an error first or closes.
    pub async fn expect<T: serde::de::DeserializeOwned>(
        &mut self,
        want: impl Fn(&T) -> bool,
    ) -> Result<T, ClientError> {
        while let Some(line) = self.next_line().await {
            let line = line?;
            if line.contains(r#""type":"error""#) {
                return Err(ClientError::Refused(line));
            }
            if let Ok(event) = serde_json::from_str::<T>(&line)
                && want(&event)
            {
                return Ok(event);
            }
        }
        Err(ClientError::Closed("the server closed the connection".to_owned()))
    }
}
