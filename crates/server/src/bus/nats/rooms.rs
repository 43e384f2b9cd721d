//! Room subjects: `<p>.room.<hex of the room key>`, one per chat room, followed by a node only
//! while it has members in the room (see the module documentation of [`super`]).

use std::sync::Arc;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::NatsBus;

impl NatsBus {
    /// `<p>.room.<hex of the room key>`.
    pub(super) fn subject_room(&self, room_key: &str) -> String {
        use std::fmt::Write as _;
        let mut subject = format!("{}.room.", self.prefix());
        for b in room_key.as_bytes() {
            let _ = write!(subject, "{b:02x}");
        }
        subject
    }

    /// Receive one room's subject until `stop` (or shutdown) is cancelled.
    async fn room_receiver(self: Arc<Self>, mut sub: async_nats::Subscriber, stop: CancellationToken) {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => break,
                m = sub.next() => m,
            };
            let Some(message) = message else { break };
            self.on_payload(&message.subject, &message.payload);
        }
        let _ = sub.unsubscribe().await;
    }

    /// Follow (subscribe, and flush so the subscription is in place) or stop following the
    /// subject of the room under `room_key`.
    pub(super) async fn watch(&self, room_key: &str, watch: bool) {
        {
            if !watch {
                if let Some(stop) = self.rooms.lock().remove(room_key) {
                    stop.cancel();
                }
                return;
            }
            let (Some(client), Some((tracker, shutdown))) = (self.client.get(), self.tasks.get()) else {
                return;
            };
            if self.rooms.lock().contains_key(room_key) {
                return;
            }
            let sub = match client.subscribe(self.subject_room(room_key)).await {
                Ok(sub) => sub,
                Err(e) => {
                    warn!(error = %e, "cluster: cannot subscribe to a room's subject");
                    return;
                }
            };
            // The subscription is in place at the server once the flush returns.
            let _ = tokio::time::timeout(self.timeout(), client.flush()).await;
            let stop = shutdown.child_token();
            let mut rooms = self.rooms.lock();
            if rooms.contains_key(room_key) {
                return; // subscribed twice at once; this one is dropped
            }
            rooms.insert(room_key.to_owned(), stop.clone());
            drop(rooms);
            let me = self.myself();
            if let Some(me) = me {
                tracker.spawn(me.room_receiver(sub, stop));
            }
        }
    }
}
