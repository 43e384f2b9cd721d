//! Ban state: set, find by look-alike, expire, replace, clear, survive a restart; and the
//! address of a user's last login, which an address ban of an offline user points at.

use chrono::Duration;
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{Ban, LoginOutcome, LoginRecord, Writer, WriterOptions};

use crate::common::{at, init_tracing, wait_written};

#[tokio::test]
async fn ban_set_lookalike_expire_clear_and_survive_restart() {
    init_tracing();
    let t0 = at(2024, 5, 1, 12, 0, 0);
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;

        let timed = Ban {
            target: "teacher".into(),
            address: Some("2001:db8:1:2::".into()),
            until: Some(t0 + Duration::hours(2)),
            reason: Some("도배 (flooding)".into()),
            actor: "admin".into(),
            at: t0,
        };
        store.bans().set(&timed).await.unwrap();
        assert_eq!(store.bans().active("teacher", t0).await.unwrap(), Some(timed.clone()), "{}", b.name());
        // A look-alike (Cyrillic `е`, fullwidth, upper case) is the same ban.
        for alike in ["tеacher", "ＴＥＡＣＨＥＲ", "Teacher"] {
            assert_eq!(store.bans().active(alike, t0).await.unwrap(), Some(timed.clone()), "{alike}");
        }
        assert!(store.bans().active("teachers", t0).await.unwrap().is_none());
        // Active a second before the end, gone at the end (the end is exclusive).
        let end = t0 + Duration::hours(2);
        assert!(store.bans().active("teacher", end - Duration::seconds(1)).await.unwrap().is_some());
        assert!(store.bans().active("teacher", end).await.unwrap().is_none());

        let forever = Ban {
            target: "김철수".into(),
            address: None,
            until: None,
            reason: None,
            actor: "admin".into(),
            at: t0,
        };
        store.bans().set(&forever).await.unwrap();
        let later = t0 + Duration::days(365);
        let names = |bans: Vec<Ban>| bans.into_iter().map(|b| b.target).collect::<Vec<_>>();
        assert_eq!(
            names(store.bans().list_active(t0).await.unwrap()),
            vec!["teacher", "김철수"],
            "{}",
            b.name()
        );
        assert_eq!(names(store.bans().list_active(later).await.unwrap()), vec!["김철수"]);

        // Banning a look-alike again replaces the row (one ban per skeleton).
        let again = Ban { target: "tеacher".into(), until: None, address: None, at: later, ..timed.clone() };
        store.bans().set(&again).await.unwrap();
        assert_eq!(store.bans().active("teacher", later).await.unwrap(), Some(again.clone()));
        assert_eq!(store.bans().list_active(later).await.unwrap().len(), 2);

        // A restart: a new store on the same database still has the bans.
        store.close().await;
        let store = db.open().await;
        assert_eq!(store.bans().list_active(later).await.unwrap().len(), 2);

        assert!(store.bans().clear("TEACHER").await.unwrap());
        assert!(!store.bans().clear("teacher").await.unwrap());
        assert!(store.bans().active("tеacher", later).await.unwrap().is_none());
        assert_eq!(names(store.bans().list_active(later).await.unwrap()), vec!["김철수"]);

        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn last_login_peer_is_the_newest_success() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        assert_eq!(store.bans().last_login_peer("kim").await.unwrap(), None);
        let (journal, writer) = Writer::spawn(store.clone(), WriterOptions::default());
        let t0 = at(2024, 5, 1, 12, 0, 0);
        let login = |peer: &str, outcome, s| LoginRecord {
            at: t0 + Duration::seconds(s),
            ..LoginRecord::new("Kim", peer, "chat", outcome)
        };
        for record in [
            login("192.0.2.1:4000", LoginOutcome::Success, 0),
            login("192.0.2.2:4000", LoginOutcome::Success, 10),
            login("192.0.2.2:4000", LoginOutcome::Logout, 20),
            login("198.51.100.9:4000", LoginOutcome::Failure, 30),
        ] {
            journal.send(record).await.unwrap();
        }
        wait_written(&journal, 4, std::time::Duration::from_secs(10)).await;
        assert_eq!(store.bans().last_login_peer("kim").await.unwrap().as_deref(), Some("192.0.2.2:4000"));
        assert_eq!(store.bans().last_login_peer("lee").await.unwrap(), None);
        writer.shutdown(std::time::Duration::from_secs(5)).await;
        store.close().await;
        db.cleanup().await;
    }
}
