//! The command line in Korean: `--lang ko`, or a Korean locale (`LANG=ko_KR.UTF-8`) and no flag,
//! turn what the real `sockhub` binary reports to a person into Korean (account and ban
//! commands, `db prune`, `relay status`, `sockhub device`'s final report, a roster import's
//! errors), while `--json`, `--format json` and `--format csv` stay byte for byte what they are
//! in English.

use std::path::{Path, PathBuf};

use sockhub_store::testing::backends;

use crate::relay::Node;
use crate::support::{BIN, Db, config_file_for, eventually, run_to_end};

/// How a run picks its language.
#[derive(Debug, Clone, Copy)]
enum Speak {
    /// `--lang CODE`, in an environment without any locale.
    Flag(&'static str),
    /// No flag; `LANG` set to this locale.
    Locale(&'static str),
}

const KO: Speak = Speak::Flag("ko");
const EN: Speak = Speak::Flag("en");
const KO_LOCALE: Speak = Speak::Locale("ko_KR.UTF-8");

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Run `sockhub ARGS` to its end, speaking as `speak` says, with `stdin` as its input.
async fn sockhub(speak: Speak, args: &[&str], stdin: &str) -> Run {
    let mut command = tokio::process::Command::new(BIN);
    command.env_remove("LC_ALL").env_remove("LC_MESSAGES").env_remove("LANG");
    match speak {
        Speak::Flag(code) => command.args(["--lang", code]),
        Speak::Locale(locale) => command.env("LANG", locale),
    };
    command.args(args);
    let out = run_to_end(command, stdin).await;
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 output"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 output"),
    }
}

/// `args` with `-c CONFIG` after them.
fn with_config<'a>(args: &[&'a str], config: &'a Path) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["-c", config.to_str().unwrap()]);
    all
}

/// Machine output must not depend on the language: the same bytes in English, with `--lang ko`
/// and with a Korean locale.
async fn same_in_every_language(config: &Path, args: &[&str]) -> String {
    same_in_every_language_but(config, args, str::to_owned).await
}

/// [`same_in_every_language`], for output that also holds the time of the run: `clock` replaces
/// it (and only it) before the bytes are compared.
async fn same_in_every_language_but(config: &Path, args: &[&str], clock: fn(&str) -> String) -> String {
    let args = with_config(args, config);
    let en = sockhub(EN, &args, "").await;
    assert!(en.ok, "{args:?}: {}", en.all());
    for speak in [KO, KO_LOCALE] {
        let other = sockhub(speak, &args, "").await;
        assert!(other.ok, "{args:?}: {}", other.all());
        assert_eq!(clock(&other.stdout), clock(&en.stdout), "{args:?} as {speak:?} differs from English");
    }
    en.stdout
}

/// `db prune --json` with its `"before"` times (now minus the days kept, to the second) blanked.
fn without_cutoffs(json: &str) -> String {
    json.lines()
        .map(|line| match line.split_once("\"before\": \"") {
            Some((indent, _)) => format!("{indent}\"before\": TIME,"),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn config_with_retention(db: &Db, dir: &Path) -> PathBuf {
    let file = config_file_for(&db.db, dir);
    let mut toml = std::fs::read_to_string(&file).unwrap();
    toml.push_str("[retention]\nchat_days = 30\nlogins_days = 0\n");
    std::fs::write(&file, toml).unwrap();
    file
}

#[tokio::test]
async fn account_ban_prune_roster_and_relay_reports_speak_korean_and_machine_output_does_not_change() {
    let db = Db::create(&backends()[0]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_retention(&db, dir.path());
    let c = |args: &[&'static str]| with_config(args, &config);

    // user add: by flag, then by locale; a conflict is a Korean error, and the exit code says so.
    let added = sockhub(KO, &c(&["user", "add", "minsu"]), "correct horse 1\n").await;
    assert!(added.ok, "{}", added.all());
    assert_eq!(added.stdout, "계정 추가: minsu (member)\n");
    let added = sockhub(KO_LOCALE, &c(&["user", "add", "jiwoo", "--admin"]), "correct horse 2\n").await;
    assert_eq!((added.ok, added.stdout.as_str()), (true, "계정 추가: jiwoo (admin)\n"), "{}", added.stderr);
    let again = sockhub(KO_LOCALE, &c(&["user", "add", "minsu"]), "correct horse 3\n").await;
    assert!(!again.ok && again.stderr.contains("\"minsu\" 계정을 추가할 수 없습니다"), "{}", again.all());
    let short = sockhub(KO, &c(&["user", "add", "sora"]), "\n").await;
    assert!(!short.ok && short.stderr.contains("비밀번호가 비어 있습니다"), "{}", short.all());
    let english = sockhub(EN, &c(&["user", "remove", "nobody"]), "").await;
    assert!(!english.ok && english.stderr.contains("no account named \"nobody\""), "{}", english.all());
    let missing = sockhub(KO, &c(&["user", "remove", "nobody"]), "").await;
    assert!(!missing.ok && missing.stderr.contains("\"nobody\" 계정이 없습니다"), "{}", missing.all());

    // user ban / unban / bans.
    let ban =
        sockhub(KO, &c(&["user", "ban", "minsu", "--for", "2h", "--reason", "spam", "--by", "ops"]), "")
            .await;
    assert!(ban.ok, "{}", ban.all());
    assert!(
        ban.stdout.starts_with("접속 차단: minsu, ") && ban.stdout.contains("까지. 실행 중인 서버에는"),
        "{}",
        ban.stdout
    );
    // A ban until lifted: the listings below then hold no "time left", which moves with the clock.
    let ban = sockhub(KO_LOCALE, &c(&["user", "ban", "jiwoo", "--reason", "도배", "--by", "ops"]), "").await;
    assert!(ban.ok && ban.stdout.starts_with("접속 차단: jiwoo, 해제할 때까지. "), "{}", ban.all());
    let unban = sockhub(KO, &c(&["user", "unban", "minsu", "--by", "ops"]), "").await;
    assert_eq!((unban.ok, unban.stdout.as_str()), (true, "차단 해제: minsu\n"), "{}", unban.stderr);
    let not_banned = sockhub(KO_LOCALE, &c(&["user", "unban", "minsu"]), "").await;
    assert!(
        !not_banned.ok && not_banned.stderr.contains("\"minsu\"님은 접속 차단 상태가 아닙니다"),
        "{}",
        not_banned.all()
    );
    let table = sockhub(KO, &c(&["user", "bans"]), "").await;
    assert!(
        table.ok && table.stdout.contains("jiwoo") && table.stdout.ends_with("(1행)\n"),
        "{}",
        table.all()
    );
    assert!(!table.stdout.contains("(1 row)"), "{}", table.stdout);
    let json = same_in_every_language(&config, &["user", "bans", "--format", "json"]).await;
    assert!(json.contains("\"reason\": \"도배\""), "{json}");
    let csv = same_in_every_language(&config, &["user", "bans", "--format", "csv"]).await;
    assert!(csv.starts_with("name,") && csv.contains("jiwoo") && !csv.contains("minsu"), "{csv}");
    same_in_every_language(&config, &["user", "list", "--format", "csv"]).await;

    // db prune --dry-run: the table's words are Korean, the JSON is the same.
    for speak in [KO, KO_LOCALE] {
        let prune = sockhub(speak, &c(&["db", "prune", "--dry-run"]), "").await;
        assert!(prune.ok, "{}", prune.all());
        assert!(prune.stdout.contains("삭제 예정") && prune.stdout.contains("영구 보관"), "{}", prune.stdout);
        assert!(
            !prune.stdout.contains("would_remove") && !prune.stdout.contains("for ever"),
            "{}",
            prune.stdout
        );
    }
    let prune =
        same_in_every_language_but(&config, &["db", "prune", "--dry-run", "--json"], without_cutoffs).await;
    assert!(prune.contains("\"action\": \"would_remove\""), "{prune}");
    assert!(prune.contains("\"before\": \"20"), "the cutoffs are there, only blanked to compare: {prune}");

    // relay status before any node ran: Korean sentences; its JSON unchanged.
    let status = sockhub(KO, &c(&["relay", "status"]), "").await;
    assert!(status.ok, "{}", status.all());
    assert!(
        status.stdout.contains("이 데이터베이스에서 실행된 릴레이 노드가 아직 없습니다"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("마지막 대조: 아직 없음"), "{}", status.stdout);
    same_in_every_language(&config, &["relay", "status", "--format", "json"]).await;

    // A roster with problems: every one in Korean, for the instructor; nothing imported.
    let roster = dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "student_id,name,department,email\n20212086,,컴퓨터공학과,minsu@\n20212086,김민수,컴퓨터공학과,\n",
    )
    .unwrap();
    let roster = roster.to_str().unwrap();
    for speak in [KO, KO_LOCALE] {
        let import = sockhub(speak, &with_config(&["roster", "import", roster], &config), "").await;
        assert!(!import.ok, "{}", import.all());
        for line in [
            "2번째 줄: 이름 칸이 비어 있습니다",
            "2번째 줄: 이메일 \"minsu@\": 도메인에 점이 있어야 합니다 (예: example.ac.kr)",
            "3번째 줄: 학번 20212086은(는) 이미 2번째 줄에 있습니다",
            "문제 3건. 아무것도 가져오지 않았습니다",
        ] {
            assert!(import.stderr.contains(line), "{line:?} missing in {}", import.stderr);
        }
    }
    let import = sockhub(EN, &with_config(&["roster", "import", roster], &config), "").await;
    assert!(
        import.stderr.contains("line 2: name is empty")
            && import.stderr.contains("3 problems; nothing was imported")
    );
    let header = dir.path().join("header.csv");
    std::fs::write(&header, "student_id,name,major\n").unwrap();
    let import =
        sockhub(KO, &with_config(&["roster", "import", header.to_str().unwrap()], &config), "").await;
    assert!(
        import.stderr.contains("1번째 줄: 머리글에 알 수 없는 열 \"major\"이(가) 있습니다"),
        "{}",
        import.stderr
    );
    db.cleanup().await;
}

#[tokio::test]
async fn the_device_report_and_relay_status_speak_korean() {
    let db = Db::create(&backends()[0]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file_for(&db.db, dir.path());
    let mut node = Node::on_db(&db.db, None, |_| {}).await;
    let addr = node.addr().to_string();

    let sent =
        sockhub(KO, &["device", "--source", "fan-1", "--addr", &addr, "-"], "boot ok\ntemp 40\n").await;
    assert!(sent.ok, "{}", sent.all());
    assert!(
        sent.stdout.starts_with("fan-1: 레코드 2건 중 2건 확인됨 (순번 1..2), 거부 0건, 재접속 0회, "),
        "{}",
        sent.stdout
    );
    assert!(sent.stdout.contains("초, 초당 "), "{}", sent.stdout);
    let sent = sockhub(KO_LOCALE, &["device", "--source", "fan-1", "--addr", &addr, "-"], "fan on\n").await;
    assert!(
        sent.ok && sent.stdout.starts_with("fan-1: 레코드 1건 중 1건 확인됨 (순번 3..3)"),
        "{}",
        sent.all()
    );
    let english = sockhub(EN, &["device", "--source", "fan-1", "--addr", &addr, "-"], "fan off\n").await;
    assert!(
        english.stdout.starts_with("fan-1: 1 of 1 records acknowledged (seqs 4..4)"),
        "{}",
        english.all()
    );
    // A device that cannot reach any relay gives up in Korean.
    let spool = dir.path().join("spool");
    let refused = sockhub(
        KO,
        &[
            "device",
            "--source",
            "fan-2",
            "--addr",
            "127.0.0.1:9",
            "--patience",
            "1",
            "--spool",
            spool.to_str().unwrap(),
            "-",
        ],
        "lost\n",
    )
    .await;
    assert!(
        !refused.ok && refused.stderr.contains("포기함: 1초 동안 확인 응답이 없습니다"),
        "{}",
        refused.all()
    );
    assert!(
        refused.stderr.contains("건 (스풀 ") && refused.stderr.contains("에 보관됨)"),
        "{}",
        refused.stderr
    );

    // relay status once the running node has written its status.
    let c = with_config(&["relay", "status"], &config);
    let status = eventually("the node's status in Korean", || async {
        let run = sockhub(KO, &c, "").await;
        (run.ok && run.stdout.contains("종착 노드 (다운스트림 없음)")).then_some(run.stdout)
    })
    .await;
    assert!(status.contains("  전송 중 0, 지연 ") && status.contains("배압 꺼짐"), "{status}");
    let records =
        same_in_every_language(&config, &["relay", "records", "--state", "received", "--format", "json"])
            .await;
    assert!(records.contains("temp 40"), "{records}");
    same_in_every_language(&config, &["relay", "records", "--state", "received", "--format", "csv"]).await;
    node.stop().await;
    db.cleanup().await;
}
