//! One connection to the relay: open it (plain or TLS), present the device token, ask where the
//! numbering goes on. What is sent on it afterwards is [`super::stream`]'s business.

use std::time::Duration;

use futures_util::StreamExt;
use sockhub_i18n::{Msg, t};
use sockhub_proto::relay::{RelayEvent, RelayRequest, write_request};
use sockhub_proto::secret::Secret;
use sockhub_proto::{ErrorCode, LineCodec, LineItem};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::FramedRead;

use crate::conn::{self, ClientTls, Endpoint};

/// The reading half, cut into lines.
pub(crate) type Lines = FramedRead<Box<dyn AsyncRead + Send + Unpin>, LineCodec>;
/// The writing half.
pub(crate) type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection was not made.
pub(crate) enum Refused {
    /// Try again (later, or on the next node).
    Retry,
    /// Give up: another try would not help.
    Fatal(String),
}

/// A connection ready for records; `last_seq` when it was asked for.
pub(crate) struct Link {
    pub lines: Lines,
    pub w: Writer,
    pub last_seq: Option<i64>,
}

/// Opens a connection to `addr`, presents `token`, and asks `source`'s last seq if `ask_seq`.
pub(crate) async fn open(
    addr: &str,
    tls: Option<&ClientTls>,
    token: Option<&Secret>,
    source: &str,
    ask_seq: bool,
    first: bool,
) -> Result<Link, Refused> {
    let to = Endpoint { addr: addr.to_owned(), tls: tls.cloned() };
    let (r, mut w) = match tokio::time::timeout(CONNECT_TIMEOUT, conn::open(&to)).await {
        Ok(Ok(halves)) => halves,
        // A certificate that does not verify will not verify on the next try either.
        Ok(Err(e)) if tls.is_some() && first && e.to_string().contains("TLS") => {
            return Err(Refused::Fatal(e.to_string()));
        }
        _ => return Err(Refused::Retry),
    };
    let mut lines = FramedRead::new(r, LineCodec::new(1 << 20));
    if let Some(token) = token {
        match authenticate(&mut lines, &mut w, token).await {
            Some(Ok(())) => {}
            Some(Err(why)) => return Err(Refused::Fatal(t!("device-token-refused", why = why.to_string()))),
            None => return Err(Refused::Retry),
        }
    }
    let mut last_seq = None;
    if ask_seq {
        match ask_last_seq(&mut lines, &mut w, source).await {
            Some(Ok(last)) => last_seq = Some(last),
            Some(Err(why)) => {
                return Err(Refused::Fatal(t!("device-last-seq-refused", why = why.to_string())));
            }
            None => return Err(Refused::Retry),
        }
    }
    Ok(Link { lines, w, last_seq })
}

/// The relay's `error` reply to a question: its code and message.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
struct Refusal {
    code: ErrorCode,
    message: Msg,
}

/// Presents the token: `Some(Ok)` when accepted, `Some(Err(why))` when refused, `None` when the
/// connection failed first.
async fn authenticate(
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    token: &Secret,
) -> Option<Result<(), Refusal>> {
    match ask(lines, w, &RelayRequest::Auth { token: token.clone() }).await? {
        RelayEvent::Authenticated { .. } => Some(Ok(())),
        RelayEvent::Error { code, message, .. } => Some(Err(Refusal { code, message })),
        _ => None,
    }
}

async fn ask_last_seq(
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    source: &str,
) -> Option<Result<i64, Refusal>> {
    match ask(lines, w, &RelayRequest::LastSeq { source: source.to_owned() }).await? {
        RelayEvent::LastSeq { seq, .. } => Some(Ok(seq)),
        RelayEvent::Error { code, message, .. } => Some(Err(Refusal { code, message })),
        _ => None,
    }
}

/// Sends `request` and returns the first JSON line that answers (skipping the greeting);
/// `None` if the connection fails or stays silent for 10 s.
async fn ask(
    lines: &mut FramedRead<impl AsyncRead + Unpin, LineCodec>,
    w: &mut (impl AsyncWrite + Unpin),
    request: &RelayRequest,
) -> Option<RelayEvent> {
    let mut buf = Vec::new();
    write_request(&mut buf, request);
    w.write_all(&buf).await.ok()?;
    w.flush().await.ok()?;
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), lines.next()).await.ok()??.ok()?;
        if let LineItem::Line(l) = item
            && l.starts_with('{')
        {
            return serde_json::from_str::<RelayEvent>(&l).ok();
        }
    }
}
