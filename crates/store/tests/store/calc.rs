//! The calculator's roster and results on every backend: imports (dry run, re-import, Hangul),
//! group-committed results, history and export reads.

use sockhub_store::testing::{TestDb, backends};
use sockhub_store::{CalcResultFilter, ImportOptions, NewCalcResult, StoreError, Student, now};

const DRY: ImportOptions = ImportOptions { dry_run: true, keep_emails: false };
const REAL: ImportOptions = ImportOptions { dry_run: false, keep_emails: false };

use crate::common::init_tracing;

fn student(id: &str, name: &str, dept: &str, email: Option<&str>) -> Student {
    Student {
        student_id: id.into(),
        name: name.into(),
        department: dept.into(),
        email: email.map(Into::into),
    }
}

#[tokio::test]
async fn roster_import_dry_run_reimport_and_hangul() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let first = vec![
            student("20212086", "김민수", "컴퓨터공학과", Some("minsu@example.ac.kr")),
            student("20212087", "이영희", "전자공학과", None),
            student("00042", "Ada", "Maths", None),
        ];

        let dry = store.calc().import_students(&first, DRY).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.added.len(), 3, "{}", b.name());
        assert!(store.calc().list_students().await.unwrap().is_empty(), "a dry run writes nothing");

        let done = store.calc().import_students(&first, REAL).await.unwrap();
        assert_eq!((done.added.len(), done.updated.len(), done.unchanged), (3, 0, 0));
        let listed = store.calc().list_students().await.unwrap();
        let ids: Vec<&str> = listed.iter().map(|s| s.student_id.as_str()).collect();
        assert_eq!(ids, ["00042", "20212086", "20212087"], "shorter IDs first, leading zeros kept");
        assert_eq!(store.calc().find_student("20212086").await.unwrap().unwrap(), first[0]);
        assert_eq!(store.calc().find_student("42").await.unwrap(), None);

        // The name typed as conjoining jamo is stored as syllables (NFC): the same name, unchanged.
        let nfd_minsu = "\u{1100}\u{1175}\u{11B7}\u{1106}\u{1175}\u{11AB}\u{1109}\u{116E}";
        let second = vec![
            student("20212086", nfd_minsu, "컴퓨터공학과", Some("minsu@example.ac.kr")),
            student("20212087", "이영희", "물리학과", Some("yh@example.ac.kr")),
            student("20230001", "박지성", "체육학과", None),
        ];
        let dry = store.calc().import_students(&second, DRY).await.unwrap();
        assert_eq!((dry.added.len(), dry.updated.len(), dry.unchanged, dry.not_in_file), (1, 1, 1, 1));
        let again = store.calc().import_students(&second, REAL).await.unwrap();
        assert_eq!(again.added, dry.added, "the dry run reported exactly what the import did");
        assert_eq!(again.updated, dry.updated);
        let (before, after) = &again.updated[0];
        assert_eq!((before.department.as_str(), after.department.as_str()), ("전자공학과", "물리학과"));
        assert_eq!(
            store.calc().find_student("20212087").await.unwrap().unwrap().email.as_deref(),
            Some("yh@example.ac.kr")
        );
        assert_eq!(store.calc().list_students().await.unwrap().len(), 4, "students not in the file are kept");

        // A file without an email column keeps the emails; one with an empty cell clears it.
        let no_emails = vec![student("20212086", "김민수", "컴퓨터공학과", None)];
        let keep = ImportOptions { dry_run: false, keep_emails: true };
        let r = store.calc().import_students(&no_emails, keep).await.unwrap();
        assert_eq!((r.unchanged, r.updated.len()), (1, 0));
        let r = store.calc().import_students(&no_emails, REAL).await.unwrap();
        assert_eq!(r.updated.len(), 1);
        assert_eq!(store.calc().find_student("20212086").await.unwrap().unwrap().email, None);

        // All or nothing: a duplicate or an over-long value refuses the whole import.
        let bad = vec![student("1", "a", "d", None), student("1", "b", "d", None)];
        assert!(matches!(store.calc().import_students(&bad, REAL).await, Err(StoreError::Invalid(_))));
        let bad = vec![student("2", "a", "d", None), student("3", &"x".repeat(300), "d", None)];
        assert!(matches!(store.calc().import_students(&bad, REAL).await, Err(StoreError::Invalid(_))));
        assert_eq!(store.calc().find_student("2").await.unwrap(), None);

        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn results_are_committed_in_order_and_read_back_exactly() {
    init_tracing();
    for b in backends() {
        let db = TestDb::create(&b).await;
        let store = db.open().await;
        let big = "9".repeat(1000);
        let big_square = format!("{}8{}1", "9".repeat(999), "0".repeat(999));
        let r = |id: &str, name: &str, input: &str, square: &str| NewCalcResult {
            student_id: id.into(),
            name: name.into(),
            input: input.into(),
            square: square.into(),
            at: now(),
        };
        // 450 results in one call: more than one multi-row INSERT, one transaction.
        let mut batch: Vec<NewCalcResult> = (0..450)
            .map(|i| r(if i % 2 == 0 { "1" } else { "2" }, "김민수", &i.to_string(), &(i * i).to_string()))
            .collect();
        batch.push(r("1", "김민수", &big, &big_square));
        batch.push(r("1", "김민수", "-1.5", "2.25"));
        store.calc().insert_results(&batch).await.unwrap();
        store.calc().insert_results(&[]).await.unwrap();

        let recent = store.calc().recent_results("1", 3).await.unwrap();
        let inputs: Vec<&str> = recent.iter().map(|r| r.input.as_str()).collect();
        assert_eq!(inputs, ["448", big.as_str(), "-1.5"], "{}: newest last", b.name());
        assert_eq!(recent[1].square, big_square);
        assert_eq!(recent[2].name, "김민수");
        assert_eq!(recent[2].at, batch[451].at);
        assert!(recent[0].id < recent[1].id && recent[1].id < recent[2].id);

        let all = store.calc().results(&CalcResultFilter::default()).await.unwrap();
        assert_eq!(all.len(), 452);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        let only_2 = store
            .calc()
            .results(&CalcResultFilter { student_id: Some("2".into()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(only_2.len(), 225);
        let page = store
            .calc()
            .results(&CalcResultFilter { after_id: Some(all[99].id), limit: Some(10), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(page, all[100..110].to_vec());

        store.close().await;
        db.cleanup().await;
    }
}
