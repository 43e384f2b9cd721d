//! Several nodes: an IRC user on node A and an `nc` user on node B share the room (messages and
//! whispers both ways, a NOTICE to a nick stays one), and a name taken on one node is taken for
//! IRC on the other.

use crate::cluster::{Cluster, Nats, enter, one_backend};
use crate::support::Db;

use super::{IrcClient, from};

#[tokio::test]
async fn an_irc_user_on_one_node_talks_with_an_nc_user_on_another() {
    let Some(b) = one_backend() else { return };
    let db = Db::create(&b).await;
    let nats = Nats::start().await;
    let cluster = Cluster::start_with(&db, &nats, 2, "[irc]\nport = 0\nserver_name = \"irc.test\"\n").await;
    let mut alice = enter(cluster.chat(1), "alice", 1).await;
    let mut bob = IrcClient::register(cluster.addr(0, "irc"), "bob").await;
    alice.until("[bob] joined (2 online)").await;
    bob.send("PRIVMSG #lobby :hello from node a").await;
    alice.until("[bob] hello from node a").await;
    alice.send("hi bob, from node b").await;
    let m = bob.privmsg().await;
    assert_eq!(
        (from(&m), m.params.as_slice()),
        ("alice", &["#lobby".to_owned(), "hi bob, from node b".into()][..])
    );
    alice.send("/w bob psst").await;
    let m = bob.privmsg().await;
    assert_eq!((from(&m), m.params[0].as_str(), m.params[1].as_str()), ("alice", "bob", "psst"));
    bob.send("PRIVMSG alice :psst back").await;
    alice.until("<<< [from bob] psst back").await;
    // A NOTICE to a nick on the other node is a NOTICE there too, with its client-only tags.
    let mut carol = IrcClient::with_caps(cluster.addr(1, "irc"), "carol", "message-tags").await;
    carol.expect("366").await;
    let join = bob.expect("JOIN").await;
    assert_eq!(from(&join), "carol");
    bob.send("@+draft/reply=abc NOTICE carol :heads up").await;
    let (before, m) = carol.until("NOTICE").await;
    assert!(before.iter().all(|m| m.command != "PRIVMSG"), "{before:?}");
    assert_eq!((from(&m), m.params.as_slice()), ("bob", &["carol".to_owned(), "heads up".into()][..]));
    assert!(m.tags.iter().any(|t| t.key == "+draft/reply" && t.value.as_deref() == Some("abc")), "{m}");
    // alice's name is taken on node b, so IRC on node a refuses it.
    let mut copycat = IrcClient::connect(cluster.addr(0, "irc")).await;
    copycat.send("NICK alice").await;
    copycat.send("USER a 0 * :A").await;
    assert_eq!(copycat.expect("433").await.params[1], "alice");
    drop((bob, carol, copycat, alice));
    cluster.stop().await;
    db.cleanup().await;
}
