//! TLS on every port, with clients nobody here wrote: `openssl s_client` on the chat TLS port,
//! `curl` over HTTPS (HTTP/1.1 and HTTP/2), and a relay pair over mutual TLS.
//!
//! Certificates come from `sockhub tls self-signed` itself (the binary under test), into a
//! temporary directory per test.
//!
//! - `lines`: chat over TLS with openssl and the sockhub client; the client's verification (an
//!   untrusted CA, a wrong name, a plain port); a plain client on a TLS port and a TLS client on
//!   a plain port closed cleanly; a silent client closed at the handshake timeout; a certificate
//!   swapped on disk served to the next connection while an existing one stays up.
//! - `web`: HTTPS with curl, HSTS and the `Secure` cookie, the redirect from plain HTTP, a
//!   WebSocket over TLS, and hundreds of half-sent requests closed at the header timeout while
//!   `/healthz` keeps answering.
//! - `relay`: Server1 forwards to Server2's relay TLS port with a client certificate; without
//!   one, Server2 refuses it and nothing arrives.

mod lines;
mod relay;
mod web;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sockhub_server::Config;

use crate::support::BIN;

/// The files `sockhub tls self-signed` wrote.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    /// A CA, a server certificate for `localhost` and 127.0.0.1, and a client certificate
    /// `server1`, in `dir`.
    pub fn make(dir: &Path) -> Certs {
        Self::make_for(dir, &["--host", "localhost", "--ip", "127.0.0.1", "--client", "server1"])
    }

    /// `sockhub tls self-signed ARGS --out DIR`.
    pub fn make_for(dir: &Path, args: &[&str]) -> Certs {
        let out = std::process::Command::new(BIN)
            .args(["tls", "self-signed"])
            .args(args)
            .arg("--out")
            .arg(dir)
            .stdin(Stdio::null())
            .output()
            .expect("run sockhub tls self-signed");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("ca.pem"), "it says which file to hand to clients: {said}");
        Certs { dir: dir.to_path_buf() }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `[tls]` with this server certificate.
    pub fn serve(&self, c: &mut Config) {
        c.tls.cert = Some(self.file("server.pem"));
        c.tls.key = Some(self.file("server-key.pem"));
    }

    /// A client that trusts this CA.
    pub fn client(&self) -> sockhub_tls::ClientTls {
        sockhub_tls::ClientTls::new(Some(&self.ca()), None).unwrap()
    }
}

/// `openssl s_client` connected to a TLS port, verifying it against `certs`' CA.
pub struct SClient {
    child: tokio::process::Child,
    input: tokio::process::ChildStdin,
    output: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl SClient {
    /// Start `openssl s_client` on `addr` with `extra` options (e.g. `-crlf`).
    pub fn connect(certs: &Certs, addr: std::net::SocketAddr, extra: &[&str]) -> SClient {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new("openssl")
            .args(["s_client", "-quiet", "-verify_return_error", "-verify_ip", "127.0.0.1"])
            .args(extra)
            .arg("-CAfile")
            .arg(certs.ca())
            .arg("-connect")
            .arg(addr.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("openssl is installed (scripts/setup.sh)");
        let input = child.stdin.take().unwrap();
        let output = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        SClient { child, input, output }
    }

    /// Type `text` (lines end in `\n`).
    pub async fn type_in(&mut self, text: &str) {
        use tokio::io::AsyncWriteExt;
        self.input.write_all(text.as_bytes()).await.unwrap();
    }

    /// Read lines until one contains `text`; returns it.
    pub async fn until(&mut self, text: &str) -> String {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.output.next_line())
                .await
                .unwrap_or_else(|_| panic!("openssl: timed out waiting for {text:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("openssl: output ended before {text:?}"));
            if line.contains(text) {
                return line;
            }
        }
    }

    /// Wait for openssl to exit, and check that it exited cleanly.
    pub async fn exits_cleanly(mut self) {
        let status = tokio::time::timeout(PATIENCE, self.child.wait()).await.expect("openssl exits").unwrap();
        assert!(status.success(), "openssl s_client: {status}");
    }
}

/// A line client over TLS.
pub struct TlsClient {
    reader: tokio::io::BufReader<tokio::io::ReadHalf<Stream>>,
    writer: tokio::io::WriteHalf<Stream>,
}

type Stream = sockhub_tls::tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

impl TlsClient {
    /// Connect to `addr` and run the handshake, verifying the server as `host`.
    pub async fn connect(
        tls: &sockhub_tls::ClientTls,
        host: &str,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<TlsClient> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let stream =
            tokio::time::timeout(PATIENCE, tls.connect(host, tcp)).await.expect("handshake in time")?;
        let (r, w) = tokio::io::split(stream);
        Ok(TlsClient { reader: tokio::io::BufReader::new(r), writer: w })
    }

    /// Connect to chat and enter as `name`; the welcome has been read.
    pub async fn chat(tls: &sockhub_tls::ClientTls, addr: std::net::SocketAddr, name: &str) -> TlsClient {
        let mut c = TlsClient::connect(tls, "localhost", addr).await.expect("TLS connection");
        c.until_contains("Your name?").await;
        c.send(name).await;
        c.until_contains(&format!("Welcome, {name}!")).await;
        c
    }

    pub async fn send(&mut self, line: &str) {
        use tokio::io::AsyncWriteExt;
        self.writer.write_all(format!("{line}\n").as_bytes()).await.expect("send");
        self.writer.flush().await.expect("flush");
    }

    /// Read lines until one contains `text`; returns it.
    pub async fn until_contains(&mut self, text: &str) -> String {
        use tokio::io::AsyncBufReadExt;
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(PATIENCE, self.reader.read_line(&mut line))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {text:?}"))
                .expect("read");
            assert!(n > 0, "connection closed while waiting for {text:?}");
            if line.contains(text) {
                return line;
            }
        }
    }
}

use crate::support::PATIENCE;

/// Run a client program to its end: (success, stdout, stderr).
pub async fn output(command: &mut tokio::process::Command) -> (bool, String, String) {
    let out = tokio::time::timeout(PATIENCE, command.stdin(Stdio::null()).output())
        .await
        .expect("the client ends in time")
        .expect("the client is installed (scripts/setup.sh)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Read until the server closes (end of stream or a reset), returning what came before; panics
/// if it keeps the connection open for `within`.
pub async fn read_to_close(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open; got {got:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}
