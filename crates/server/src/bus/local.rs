//! The bus of a single node: nobody else listens.
//!
//! Every call is a no-op or an immediate answer, so a server without `[cluster]` pays one
//! virtual call returning `false` per broadcast ([`Bus::is_shared`]) and nothing else; name
//! uniqueness is then the room's own check, exactly as before clusters existed.

use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;

use super::{Bus, ClaimError, ClusterStatus, Listener, Message, NodeRef};

/// The single-node bus.
#[derive(Debug)]
pub struct LocalBus {
    node: NodeRef,
}

impl LocalBus {
    /// A single node's bus. Its boot number is drawn at start, as a cluster node's is: a line's id
    /// (`msgid`) is the node, its boot and a counter, and a restarted server must not reuse ids.
    pub fn new() -> LocalBus {
        LocalBus { node: NodeRef { id: Arc::from("local"), boot: rand::random::<u64>() } }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus::new()
    }
}

impl Bus for LocalBus {
    fn node(&self) -> NodeRef {
        self.node.clone()
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn publish(&self, _msg: Message) {}

    fn send(&self, _to: &NodeRef, _msg: Message) {}

    fn claim<'a>(
        &'a self,
        _service: &'static str,
        _name: &'a str,
        _conn: u64,
    ) -> BoxFuture<'a, Result<(), ClaimError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, _service: &'static str, _name: &'a str, _conn: u64) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }

    fn hold<'a>(&'a self, _role: &'a str) -> BoxFuture<'a, Result<bool, sockhub_store::StoreError>> {
        Box::pin(std::future::ready(Ok(true)))
    }

    fn attach(&self, _listener: Weak<dyn Listener>) {}

    fn status(&self) -> ClusterStatus {
        ClusterStatus {
            clustered: false,
            node_id: self.node.id.to_string(),
            connected: true,
            peers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_start_is_a_new_boot() {
        assert_ne!(LocalBus::new().node(), LocalBus::new().node(), "line ids would repeat after a restart");
    }
}
