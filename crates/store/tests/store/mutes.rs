//! Mute state: set, expire, replace, clear, and survive a restart.

use chrono::Duration;
use sockhub_store::Mute;
use sockhub_store::testing::{TestDb, backends};

use crate::common::{at, init_tracing};

#[tokio::test]
async fn mute_set_expire_clear_and_survive_restart() {
    init_tracing();
    let t0 = at(2024, 5, 1, 12, 0, 0);
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;

        let timed = Mute {
            target: "Bob".into(),
            until: Some(t0 + Duration::minutes(10)),
            reason: Some("도배 (flooding)".into()),
            actor: "admin".into(),
            at: t0,
            room: None,
        };
        store.set_mute(&timed).await.unwrap();
        assert_eq!(store.active_mute("bob", t0).await.unwrap(), Some(timed.clone()));
        assert!(timed.is_active(t0));
        // Still active a second before the end, gone at the end (the end is exclusive).
        assert!(store.active_mute("BOB", t0 + Duration::seconds(599)).await.unwrap().is_some());
        assert!(store.active_mute("bob", t0 + Duration::minutes(10)).await.unwrap().is_none());

        // An indefinite mute, in Hangul.
        let forever = Mute {
            target: "김철수".into(),
            until: None,
            reason: None,
            actor: "admin".into(),
            at: t0,
            room: None,
        };
        store.set_mute(&forever).await.unwrap();
        let later = t0 + Duration::days(365);
        assert_eq!(store.active_mute("김철수", later).await.unwrap(), Some(forever.clone()));

        let active: Vec<String> =
            store.active_mutes(t0).await.unwrap().into_iter().map(|m| m.target).collect();
        assert_eq!(active, vec!["Bob", "김철수"], "{}", b.name());
        let active: Vec<String> =
            store.active_mutes(later).await.unwrap().into_iter().map(|m| m.target).collect();
        assert_eq!(active, vec!["김철수"]);

        // Setting again replaces the earlier mute (here: extends the expired one).
        let again = Mute { until: Some(later + Duration::hours(1)), at: later, ..timed.clone() };
        store.set_mute(&again).await.unwrap();
        assert_eq!(store.active_mute("bob", later).await.unwrap(), Some(again));

        // A restart: a new store on the same database still sees the mutes at once.
        store.close().await;
        let store = db.open().await;
        assert_eq!(store.active_mutes(later).await.unwrap().len(), 2);

        assert!(store.clear_mute("BOB").await.unwrap());
        assert!(!store.clear_mute("bob").await.unwrap());
        assert!(store.active_mute("bob", later).await.unwrap().is_none());
        assert_eq!(store.active_mutes(later).await.unwrap().len(), 1);

        store.close().await;
        db.cleanup().await;
    }
}
