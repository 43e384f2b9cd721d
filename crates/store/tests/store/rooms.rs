//! Rooms in the store: persistent rooms and their topics, mutes per room next to server-wide
//! ones, chat lines by room (history and `logs chat --room`), on every backend.

use chrono::Duration;
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{ChatFilter, ChatRecord, Mute, StoredRoom};
use sockhub_store::{Writer, WriterOptions};

use crate::common::{at, init_tracing};

#[tokio::test]
async fn persistent_rooms_topics_room_mutes_and_lines_by_room() {
    init_tracing();
    let t0 = at(2024, 5, 1, 12, 0, 0);
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;

        let lab = StoredRoom {
            name: "#Lab".into(),
            topic: None,
            topic_by: None,
            topic_at: None,
            created_by: "boss".into(),
            created_at: t0,
        };
        assert!(store.add_room(&lab).await.unwrap());
        assert!(
            !store.add_room(&StoredRoom { name: "#lab".into(), ..lab.clone() }).await.unwrap(),
            "one per name, any case"
        );
        assert!(store.set_room_topic("#LAB", Some("실험 3"), "boss", t0).await.unwrap());
        assert!(!store.set_room_topic("#nowhere", Some("x"), "boss", t0).await.unwrap());
        let rooms = store.rooms().await.unwrap();
        assert_eq!(rooms.len(), 1, "{}", b.name());
        assert_eq!((rooms[0].name.as_str(), rooms[0].topic.as_deref()), ("#Lab", Some("실험 3")));
        assert_eq!((rooms[0].topic_by.as_deref(), rooms[0].topic_at), (Some("boss"), Some(t0)));

        // A mute in one room and a server-wide one are separate rows.
        let base = Mute {
            target: "kim".into(),
            until: None,
            reason: None,
            actor: "boss".into(),
            at: t0,
            room: None,
        };
        let in_lab =
            Mute { room: Some("#Lab".into()), until: Some(t0 + Duration::minutes(5)), ..base.clone() };
        store.set_mute(&in_lab).await.unwrap();
        assert_eq!(store.active_mute("kim", t0).await.unwrap(), None, "no server-wide mute yet");
        store.set_mute(&base).await.unwrap();
        let mut active = store.active_mutes(t0).await.unwrap();
        active.sort_by_key(|m| m.room.clone());
        assert_eq!(active, vec![base.clone(), in_lab.clone()], "{}", b.name());
        assert!(store.clear_mute_in("KIM", Some("#lab")).await.unwrap());
        assert_eq!(store.active_mutes(t0).await.unwrap(), vec![base.clone()]);
        assert!(store.clear_mute("kim").await.unwrap());

        // Lines by room: the history of one room, whispers in none.
        let (journal, writer) = Writer::spawn(store.clone(), WriterOptions::default());
        let line = |room: &str, text: &str, i: i64| ChatRecord {
            at: t0 + Duration::milliseconds(i),
            ..ChatRecord::in_room(room, "kim", text)
        };
        journal.send(line("#Lab", "in lab", 1)).await.unwrap();
        journal.send(line("#lobby", "in lobby", 2)).await.unwrap();
        journal
            .send(ChatRecord {
                at: t0 + Duration::milliseconds(3),
                ..ChatRecord::whisper("kim", "lee", "psst")
            })
            .await
            .unwrap();
        journal.send(line("#Lab", "again", 4)).await.unwrap();
        drop(journal);
        assert!(writer.shutdown(std::time::Duration::from_secs(10)).await.is_complete());
        let texts = |rows: Vec<sockhub_store::ChatRow>| {
            rows.into_iter().map(|r| (r.room, r.text)).collect::<Vec<_>>()
        };
        assert_eq!(
            texts(store.recent_room_messages("#LAB", 10).await.unwrap()),
            [("#Lab".to_owned(), "in lab".to_owned()), ("#Lab".into(), "again".into())],
            "{}",
            b.name()
        );
        assert_eq!(
            texts(store.recent_room_messages("#lab", 1).await.unwrap()),
            [("#Lab".to_owned(), "again".to_owned())]
        );
        let filter = ChatFilter { room: Some("#lobby".into()), ..Default::default() };
        assert_eq!(
            texts(store.chat_log(&filter).await.unwrap()),
            [("#lobby".to_owned(), "in lobby".to_owned())]
        );
        let all = store.chat_log(&ChatFilter::default()).await.unwrap();
        assert_eq!(
            all.iter().find(|r| r.is_whisper()).map(|r| r.room.as_str()),
            Some(""),
            "a whisper is in no room"
        );
        store.close().await;
        db.cleanup().await;
    }
}
