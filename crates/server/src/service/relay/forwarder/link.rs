//! One connection to downstream: connecting (with TLS when `downstream_tls` is set) and the
//! request/reply exchange reconcile uses while nothing is in flight.

use std::time::Duration;

use futures_util::StreamExt;
use sockhub_proto::ErrorCode;
use sockhub_proto::relay::{RelayEvent, RelayRequest, write_request};
use sockhub_proto::{LineCodec, LineItem};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

use super::Forwarder;
use crate::service::relay::RelayError;

/// Either half of a plain or TLS connection to downstream.
pub(super) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
pub(super) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// One connection to downstream.
pub(crate) struct Link {
    pub lines: FramedRead<ReadHalf, LineCodec>,
    pub w: WriteHalf,
}

impl Link {
    /// Sends a request and waits for its reply (an event other than an ack), skipping text
    /// lines. Used only while nothing is in flight (reconcile).
    pub async fn request(&mut self, req: &RelayRequest, timeout: Duration) -> Result<RelayEvent, RelayError> {
        let mut buf = Vec::new();
        write_request(&mut buf, req);
        tokio::time::timeout(timeout, async {
            self.w.write_all(&buf).await?;
            self.w.flush().await
        })
        .await
        .map_err(|_| RelayError::TimedOut("sending a request"))?
        .map_err(RelayError::Write)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let item = tokio::time::timeout_at(deadline, self.lines.next())
                .await
                .map_err(|_| RelayError::TimedOut("waiting for a reply"))?;
            match item {
                None | Some(Err(_)) => return Err(RelayError::Closed),
                Some(Ok(LineItem::Line(line))) => {
                    if !line.starts_with('{') {
                        continue;
                    }
                    match serde_json::from_str::<RelayEvent>(&line) {
                        Ok(RelayEvent::Ack(_)) => continue,
                        Ok(RelayEvent::Bye { reason }) => return Err(RelayError::Bye(reason.to_string())),
                        Ok(RelayEvent::Error { code: ErrorCode::Unauthorized, message, .. }) => {
                            return Err(RelayError::Unauthorized(message.to_string()));
                        }
                        Ok(ev) => return Ok(ev),
                        Err(e) => return Err(RelayError::Unreadable { line, error: e.to_string() }),
                    }
                }
                Some(Ok(_)) => return Err(RelayError::BadLine),
            }
        }
    }
}

impl Forwarder {
    /// Connect to `downstream`, with the TLS handshake when `downstream_tls` is set (its files
    /// are read here, at every connection).
    pub(super) async fn connect(&self, downstream: &str) -> std::io::Result<(ReadHalf, WriteHalf)> {
        let stream = TcpStream::connect(downstream).await?;
        let _ = stream.set_nodelay(true);
        let Some(tls) = self.shared.settings.tls_to_downstream() else {
            let (r, w) = stream.into_split();
            return Ok((Box::new(r), Box::new(w)));
        };
        let client = tls.client().map_err(|e| std::io::Error::other(format!("TLS settings: {e}")))?;
        let stream = client.connect(sockhub_tls::host_of(downstream), stream).await?;
        let (r, w) = tokio::io::split(stream);
        Ok((Box::new(r), Box::new(w)))
    }
}
