//! The textbook tokio chat server, kept as a comparison peer for sockhub's benchmarks.
//!
//! This follows the design of tokio's own `examples/chat.rs`, because that is what most people
//! write first: one global `Mutex<HashMap<SocketAddr, UnboundedSender<String>>>`, every message
//! copied into a fresh `String` per peer, `LinesCodec` framing, and each peer's task writing one
//! line per `send` (one system call per line). Unlike the example it has no name prompt and it
//! broadcasts to everyone *including* the sender, so it carries exactly the load sockhub carries in
//! the chat-fanout raw mode. It is deliberately not optimized (unbounded queues, no batching): it
//! is the baseline, not a competitor.
//!
//! Usage: `tokio-chat [ADDR]` (default `127.0.0.1:6142`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio_util::codec::{Framed, LinesCodec};

type Tx = mpsc::UnboundedSender<String>;

/// Everyone connected, by address.
#[derive(Default)]
struct Shared {
    peers: HashMap<SocketAddr, Tx>,
}

impl Shared {
    /// Send a copy of `message` to every peer, the sender included.
    fn broadcast(&mut self, message: &str) {
        for tx in self.peers.values() {
            let _ = tx.send(message.to_owned());
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:6142".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("tokio chat listening on {}", listener.local_addr()?);
    let state = Arc::new(Mutex::new(Shared::default()));
    loop {
        let (stream, addr) = listener.accept().await?;
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            if let Err(e) = process(state, stream, addr).await {
                eprintln!("{addr}: {e}");
            }
        });
    }
}

async fn process(state: Arc<Mutex<Shared>>, stream: TcpStream, addr: SocketAddr) -> std::io::Result<()> {
    let mut lines = Framed::new(stream, LinesCodec::new());
    let (tx, mut rx) = mpsc::unbounded_channel();
    state.lock().await.peers.insert(addr, tx);
    let result = loop {
        tokio::select! {
            // A message for this peer: write it out, one line per send.
            Some(msg) = rx.recv() => {
                if let Err(e) = lines.send(msg).await {
                    break Err(std::io::Error::other(e));
                }
            }
            // A line from this peer: broadcast it.
            line = lines.next() => match line {
                Some(Ok(line)) => state.lock().await.broadcast(&line),
                Some(Err(e)) => break Err(std::io::Error::other(e)),
                None => break Ok(()),
            },
        }
    };
    state.lock().await.peers.remove(&addr);
    result
}
