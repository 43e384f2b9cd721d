//! Rooms for `chat-fanout --rooms R`: which room each client is in, how it gets there, and how a
//! delivery is checked against it.
//!
//! Client `i` sits in room `i % R`, so clients and senders (the first `--senders` clients) are
//! spread evenly. With one room every client stays in the room the login puts it in and nothing
//! here runs: no extra request, the same lines as without rooms. With more, a client logs in as
//! usual, then, still in text mode, leaves the room the login put it in (`/part`, whatever that
//! room is called), joins its own (`/join #name`) and makes it current (`/switch #name`, whose
//! answer is the first line that names the room: the join's own line does not, since a user in
//! one room reads unprefixed lines). It counts as connected once that answer is in. Being in
//! exactly one room, it receives messages as `[name] text`, like a single-room client.
//!
//! Every message line carries its sender's number (see [`crate::client::write_line`]), and the
//! sender's room is that number modulo R: a client that reads a message from a sender of another
//! room counts it as *foreign* — a message that leaked out of its room — instead of a delivery.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::ClientError;

/// Where one client sits when there is more than one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// The room's name, `#` included.
    pub name: String,
    /// The room's number, `0..count`.
    pub index: usize,
    /// How many rooms the run has.
    pub count: usize,
}

impl Seat {
    /// The seat of client `i` of a run with `rooms` rooms named after `prefix`; none when there is
    /// one room (the clients stay where the login puts them).
    pub fn of(i: usize, rooms: usize, prefix: &str) -> Option<Seat> {
        (rooms > 1).then(|| {
            let index = i % rooms;
            Seat { name: room_name(prefix, index), index, count: rooms }
        })
    }

    /// Whether a message from sender `sender` belongs in this seat's room.
    #[inline]
    pub fn owns(&self, sender: u64) -> bool {
        sender % self.count as u64 == self.index as u64
    }
}

/// The name of room `index`: `#` + the run's prefix + the number (letters, digits and `-` only,
/// well under the 32-character limit of a room name).
pub fn room_name(prefix: &str, index: usize) -> String {
    format!("#{prefix}-r{index}")
}

/// How many of the first `readers` clients (the reading ones) sit in each of
/// `rooms` rooms.
pub fn readers_per_room(readers: usize, rooms: usize) -> Vec<u64> {
    let rooms = rooms.max(1);
    (0..rooms).map(|r| (readers / rooms + usize::from(r < readers % rooms)) as u64).collect()
}

/// Leave the login's room and join `seat`'s, in text mode; returns what was read after the join
/// was confirmed (it belongs to the run). The confirmation is the first line that names the room
/// (the answer to `/switch`); an error line before it fails the client.
pub async fn take_seat(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    seat: &Seat,
    mut pending: Vec<u8>,
) -> Result<Vec<u8>, ClientError> {
    stream
        .write_all(format!("/part\n/join {0}\n/switch {0}\n", seat.name).as_bytes())
        .await
        .map_err(ClientError::io("join"))?;
    stream.flush().await.map_err(ClientError::io("join"))?;
    let mut buf = [0u8; 4096];
    let mut start = 0;
    loop {
        while let Some(end) = memchr::memchr(b'\n', &pending[start..]).map(|i| start + i) {
            let line = &pending[start..end];
            start = end + 1;
            if line.starts_with(b"! ") {
                return Err(ClientError::Refused(format!(
                    "join {}: {}",
                    seat.name,
                    String::from_utf8_lossy(line)
                )));
            }
            if memchr::memmem::find(line, seat.name.as_bytes()).is_some() {
                return Ok(pending.split_off(start));
            }
        }
        pending.drain(..start);
        start = 0;
        let n = stream.read(&mut buf).await.map_err(ClientError::io("join"))?;
        if n == 0 {
            let said = String::from_utf8_lossy(&pending);
            return Err(ClientError::Closed(format!("closed while joining {}: {}", seat.name, said.trim())));
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_senders_are_spread_evenly() {
        assert_eq!(Seat::of(5, 1, "b1"), None, "one room: nothing to do");
        let seat = Seat::of(5, 3, "b1").unwrap();
        assert_eq!(seat, Seat { name: "#b1-r2".into(), index: 2, count: 3 });
        assert!(seat.owns(2) && seat.owns(5) && !seat.owns(3));
        assert_eq!(readers_per_room(10, 3), [4, 3, 3]);
        assert_eq!(readers_per_room(10, 1), [10]);
        assert_eq!(readers_per_room(2, 3), [1, 1, 0]);
    }

    #[tokio::test]
    async fn joining_waits_for_the_confirmation_and_keeps_what_follows() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let seat = Seat::of(1, 2, "b1").unwrap();
        let serve = async {
            let mut got = vec![0u8; 64];
            let n = server.read(&mut got).await.unwrap();
            assert_eq!(&got[..n], b"/part\n/join #b1-r1\n/switch #b1-r1\n");
            let answer = b"[me] left (1 online)\n[me] joined (1 online)\n* plain lines now go to #b1-r1\n[x] ~1~1~0~\n";
            server.write_all(answer).await.unwrap();
        };
        let (rest, ()) = tokio::join!(take_seat(&mut client, &seat, Vec::new()), serve);
        assert_eq!(rest.unwrap(), b"[x] ~1~1~0~\n");

        let (mut client, mut server) = tokio::io::duplex(4096);
        server.write_all(b"! room_limit: too many rooms\n").await.unwrap();
        let err = take_seat(&mut client, &seat, Vec::new()).await.unwrap_err();
        assert!(err.to_string().contains("room_limit"), "{err}");
    }
}
