//! Accounts: create, case-insensitive uniqueness, Hangul, updates, removal; passwords.

use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{NewAccount, Role, StoreError, password};

use crate::common::init_tracing;

#[tokio::test]
async fn account_crud_case_insensitive_and_hangul() {
    init_tracing();
    let hash = password::hash("pw").await.unwrap();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;

        let alice = store.accounts().add(&NewAccount::member("Alice", hash.clone())).await.unwrap();
        assert_eq!(alice.name, "Alice");
        assert_eq!(alice.role, Role::Member);
        assert!(!alice.is_admin());
        assert_eq!(store.accounts().find("alice").await.unwrap().unwrap().id, alice.id);
        assert_eq!(store.accounts().find("ALICE").await.unwrap().unwrap().name, "Alice");

        let err = store.accounts().add(&NewAccount::member("aLiCe", hash.clone())).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{}: {err:?}", b.name());

        // Hangul, with a student id and an emoji display name (4-byte UTF-8: utf8mb4 on MySQL).
        let hong = store
            .accounts()
            .add(&NewAccount {
                name: "홍길동".into(),
                password_hash: hash.clone(),
                role: Role::Admin,
                student_id: Some("20231234".into()),
                display_name: Some("길동 🦀".into()),
            })
            .await
            .unwrap();
        let found = store.accounts().find("홍길동").await.unwrap().expect("found");
        assert_eq!(found, hong);
        assert_eq!(found.display_name.as_deref(), Some("길동 🦀"));
        assert_eq!(found.student_id.as_deref(), Some("20231234"));
        assert!(found.is_admin());
        // The same name typed as conjoining jamo (NFD) is the same user.
        let nfd = "\u{1112}\u{1169}\u{11BC}\u{1100}\u{1175}\u{11AF}\u{1103}\u{1169}\u{11BC}";
        assert_eq!(store.accounts().find(nfd).await.unwrap().map(|a| a.id), Some(hong.id));
        let err = store.accounts().add(&NewAccount::member(nfd, hash.clone())).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));

        let names: Vec<String> = store.accounts().list().await.unwrap().into_iter().map(|a| a.name).collect();
        assert_eq!(names, vec!["Alice", "홍길동"], "{}", b.name());

        assert!(store.accounts().set_role("ALICE", Role::Admin).await.unwrap());
        assert!(store.accounts().set_role("alice", Role::Admin).await.unwrap(), "same role again is a match");
        assert!(!store.accounts().set_role("nobody", Role::Admin).await.unwrap());
        assert!(store.accounts().find("alice").await.unwrap().unwrap().is_admin());

        let new_hash = password::hash("new pw").await.unwrap();
        assert!(store.accounts().set_password_hash("Alice", &new_hash).await.unwrap());
        assert!(!store.accounts().set_password_hash("nobody", &new_hash).await.unwrap());
        let a = store.accounts().find("alice").await.unwrap().unwrap();
        assert!(password::verify("new pw", &a.password_hash).await);
        assert!(!password::verify("pw", &a.password_hash).await);

        assert!(store.accounts().remove("alice").await.unwrap());
        assert!(!store.accounts().remove("alice").await.unwrap());
        assert!(store.accounts().find("Alice").await.unwrap().is_none());

        let err = store.accounts().add(&NewAccount::member("  ", hash.clone())).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        let err = store.accounts().add(&NewAccount::member("x".repeat(256), hash.clone())).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));

        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn passwords_are_argon2id_and_never_shown() {
    let h = password::hash("정답은 42").await.unwrap();
    assert!(h.starts_with("$argon2id$v=19$"), "{h}");
    assert!(password::is_argon2id(&h));
    assert!(password::verify("정답은 42", &h).await);
    assert!(!password::verify("정답은 43", &h).await);
    assert!(!password::verify("정답은 42", "garbage").await);
    assert!(password::verify_login("정답은 42", Some(&h)).await);
    assert!(!password::verify_login("정답은 42", None).await);
    // The blocking variants agree (for the CLI).
    assert!(password::verify_blocking("정답은 42", &h));
    let h2 = password::hash_blocking("x").unwrap();
    assert!(password::verify("x", &h2).await);

    let acct = NewAccount::member("kim", h.clone());
    assert!(!format!("{acct:?}").contains(&h), "Debug must not show the hash");
}

/// The calculator's `auth = "accounts"` finds the account that carries a student ID; two that
/// carry one are both reported (the caller refuses the login).
#[tokio::test]
async fn accounts_are_found_by_the_student_id_they_carry() {
    init_tracing();
    let hash = password::hash("pw").await.unwrap();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let with_id = |name: &str, id: Option<&str>| NewAccount {
            student_id: id.map(str::to_owned),
            ..NewAccount::member(name, hash.clone())
        };
        store.accounts().add(&with_id("김민수", Some("20212086"))).await.unwrap();
        store.accounts().add(&with_id("20212086", None)).await.unwrap();
        let found = store.accounts().find_by_student_id("20212086").await.unwrap();
        assert_eq!(found.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["김민수"], "{}", b.name());
        assert!(store.accounts().find_by_student_id("0212086").await.unwrap().is_empty());
        assert!(store.accounts().find_by_student_id("").await.unwrap().is_empty());
        store.accounts().add(&with_id("twin", Some("20212086"))).await.unwrap();
        assert_eq!(store.accounts().find_by_student_id("20212086").await.unwrap().len(), 2);
        store.close().await;
        db.cleanup().await;
    }
}
