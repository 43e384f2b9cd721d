//! Reads of the logs written through the writer: logins by day, chat history with whispers,
//! moderation actions, recent public lines.

use std::time::Duration;

use chrono::{FixedOffset, NaiveDate};
use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{
    ChatFilter, ChatRecord, LoginFilter, LoginOutcome, LoginRecord, ModerationAction, ModerationFilter,
    ModerationRecord, Store, Writer, WriterOptions,
};

use crate::common::{at, init_tracing};

/// Writes `records` through a writer and waits until they are all in the database.
async fn write_all(store: &Store, records: Vec<sockhub_store::Record>) {
    let (journal, handle) = Writer::spawn(store.clone(), WriterOptions::default());
    for r in records {
        journal.send(r).await.unwrap();
    }
    let report = handle.shutdown(Duration::from_secs(30)).await;
    assert!(report.is_complete(), "{report:?}");
}

fn login(name: &str, outcome: LoginOutcome, t: chrono::DateTime<chrono::Utc>) -> LoginRecord {
    LoginRecord { name: name.into(), peer: "127.0.0.1:50412".into(), service: "chat".into(), outcome, at: t }
}

#[tokio::test]
async fn logins_by_day_and_user() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        write_all(
            &store,
            vec![
                login("kim", LoginOutcome::Success, at(2023, 10, 9, 23, 59, 59)).into(),
                login("kim", LoginOutcome::Success, at(2023, 10, 10, 0, 0, 0)).into(),
                login("Lee", LoginOutcome::Failure, at(2023, 10, 10, 6, 11, 48)).into(),
                login("이영희", LoginOutcome::Success, at(2023, 10, 10, 15, 11, 48)).into(),
                login("kim", LoginOutcome::Logout, at(2023, 10, 10, 23, 59, 59)).into(),
                login("kim", LoginOutcome::Success, at(2023, 10, 11, 0, 0, 0)).into(),
            ],
        )
        .await;

        let day = NaiveDate::from_ymd_opt(2023, 10, 10).unwrap();
        let rows = store.logins(&LoginFilter::day(day, &chrono::Utc)).await.unwrap();
        let got: Vec<(&str, LoginOutcome)> = rows.iter().map(|r| (r.name.as_str(), r.outcome)).collect();
        assert_eq!(
            got,
            vec![
                ("kim", LoginOutcome::Success),
                ("Lee", LoginOutcome::Failure),
                ("이영희", LoginOutcome::Success),
                ("kim", LoginOutcome::Logout),
            ],
            "{}",
            b.name()
        );
        assert_eq!(rows[0].at, at(2023, 10, 10, 0, 0, 0));
        assert_eq!(rows[0].peer, "127.0.0.1:50412");
        assert_eq!(rows[0].service, "chat");

        // The same calendar day in Korea (UTC+9) is 2023-10-09 15:00 .. 2023-10-10 15:00 UTC.
        let kst = FixedOffset::east_opt(9 * 3600).unwrap();
        let rows = store.logins(&LoginFilter::day(day, &kst)).await.unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");

        let kim = store.logins(&LoginFilter::day(day, &chrono::Utc).user("KIM")).await.unwrap();
        assert_eq!(kim.len(), 2);
        let lee = LoginFilter { user: Some("이영희".into()), ..Default::default() };
        assert_eq!(store.logins(&lee).await.unwrap().len(), 1);

        // limit keeps the newest rows, still oldest first.
        let last_two = store.logins(&LoginFilter { limit: Some(2), ..Default::default() }).await;
        let last_two: Vec<_> = last_two.unwrap().into_iter().map(|r| r.at).collect();
        assert_eq!(last_two, vec![at(2023, 10, 10, 23, 59, 59), at(2023, 10, 11, 0, 0, 0)]);

        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn chat_log_filters_whispers_and_recent_public() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let t = |m: u32| at(2024, 1, 2, 10, m, 0);
        let mut records = vec![
            ChatRecord { at: t(0), ..ChatRecord::public("kim", "안녕하세요 여러분") },
            ChatRecord { at: t(1), ..ChatRecord::whisper("lee", "Kim", "귓속말: 비밀 🤫") },
            ChatRecord { at: t(2), ..ChatRecord::public("park", "hello") },
            ChatRecord { at: t(3), ..ChatRecord::whisper("kim", "park", "psst") },
            ChatRecord { at: t(4), ..ChatRecord::public("lee", "bye") },
        ];
        // Same timestamp: insertion order breaks the tie.
        records.push(ChatRecord { at: t(4), ..ChatRecord::public("kim", "same time, later") });
        write_all(&store, records.into_iter().map(Into::into).collect()).await;

        let all = store.chat_log(&ChatFilter::default()).await.unwrap();
        assert_eq!(all.len(), 6, "{}", b.name());
        assert_eq!(all[0].text, "안녕하세요 여러분");
        assert_eq!(all[5].text, "same time, later");
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));

        // Everything kim sent or received, whispers included, in any letter case.
        let kim =
            store.chat_log(&ChatFilter { user: Some("KIM".into()), ..Default::default() }).await.unwrap();
        let texts: Vec<&str> = kim.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, vec!["안녕하세요 여러분", "귓속말: 비밀 🤫", "psst", "same time, later"]);
        let whisper = &kim[1];
        assert!(whisper.is_whisper());
        assert_eq!(whisper.sender, "lee");
        assert_eq!(whisper.recipient.as_deref(), Some("Kim"));
        assert_eq!(whisper.at, t(1));

        let since = store
            .chat_log(&ChatFilter { user: Some("kim".into()), since: Some(t(2)), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(since.len(), 2);
        let window = store
            .chat_log(&ChatFilter { since: Some(t(1)), until: Some(t(3)), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(window.len(), 2);
        let newest = store.chat_log(&ChatFilter { limit: Some(2), ..Default::default() }).await;
        let newest: Vec<String> = newest.unwrap().into_iter().map(|r| r.text).collect();
        assert_eq!(newest, vec!["bye", "same time, later"]);

        // Recent public lines: no whispers, newest N, oldest first.
        let recent = store.recent_public_messages(3).await.unwrap();
        let texts: Vec<&str> = recent.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, vec!["hello", "bye", "same time, later"]);
        assert!(recent.iter().all(|r| r.recipient.is_none()));
        assert_eq!(store.recent_public_messages(100).await.unwrap().len(), 4);
        assert!(store.recent_public_messages(0).await.unwrap().is_empty());

        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn moderation_log() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let t = |m: u32| at(2024, 2, 3, 20, m, 0);
        let recs = vec![
            ModerationRecord { at: t(0), ..ModerationRecord::new("admin", "troll", ModerationAction::Kick) }
                .with_reason("욕설"),
            ModerationRecord {
                at: t(1),
                ..ModerationRecord::new("Admin", "Spammer", ModerationAction::Mute)
            }
            .with_reason("flood")
            .with_until(t(31)),
            ModerationRecord {
                at: t(5),
                ..ModerationRecord::new("root", "spammer", ModerationAction::Unmute)
            },
        ];
        write_all(&store, recs.into_iter().map(Into::into).collect()).await;

        let all = store.moderation_log(&ModerationFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3, "{}", b.name());
        assert_eq!(all[0].action, ModerationAction::Kick);
        assert_eq!(all[0].reason.as_deref(), Some("욕설"));
        assert_eq!(all[0].until, None);
        assert_eq!(all[1].action, ModerationAction::Mute);
        assert_eq!(all[1].until, Some(t(31)));
        assert_eq!(all[1].target, "Spammer");
        assert_eq!(all[2].reason, None);

        let spammer = ModerationFilter { target: Some("SPAMMER".into()), ..Default::default() };
        let rows = store.moderation_log(&spammer).await.unwrap();
        let actions: Vec<_> = rows.iter().map(|r| r.action).collect();
        assert_eq!(actions, vec![ModerationAction::Mute, ModerationAction::Unmute]);

        let by_admin = ModerationFilter { actor: Some("admin".into()), ..Default::default() };
        assert_eq!(store.moderation_log(&by_admin).await.unwrap().len(), 2);
        let window = ModerationFilter { from: Some(t(1)), to: Some(t(5)), ..Default::default() };
        assert_eq!(store.moderation_log(&window).await.unwrap().len(), 1);
        let newest = ModerationFilter { limit: Some(1), ..Default::default() };
        assert_eq!(store.moderation_log(&newest).await.unwrap()[0].action, ModerationAction::Unmute);

        store.close().await;
        db.cleanup().await;
    }
}
