//! `sockhub quiz --log FILE`: the quiz client keeps its own log, as the original course's clients
//! did. Real processes of the binary play a short round against a real server, in English and
//! in Korean; a third is refused its name and logs the error.

use std::path::Path;
use std::process::Stdio;

use crate::support::{BIN, PATIENCE, TestServer, eventually};

/// Every line is `YYYY-MM-DD HH:MM:SS [LEVEL]: message`; returns (level, message) pairs.
fn parse_log(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let (stamp, rest) = line.split_at_checked(19).unwrap_or_else(|| panic!("short line {line:?}"));
            assert!(
                chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok(),
                "bad timestamp in {line:?}"
            );
            let rest = rest.strip_prefix(" [").unwrap_or_else(|| panic!("no level in {line:?}"));
            let (level, message) = rest.split_once("]: ").unwrap_or_else(|| panic!("no level in {line:?}"));
            assert!(["INFO", "WARNING", "ERROR"].contains(&level), "{line:?}");
            (level.to_owned(), message.to_owned())
        })
        .collect()
}

fn bot(addr: &str, name: &str, lang: &str, log: &Path) -> tokio::process::Child {
    tokio::process::Command::new(BIN)
        .args(["quiz", "--addr", addr, "--name", name, "--bot", "--accuracy", "0.5", "--think-ms", "50-200"])
        .args(["--seed", "3", "--lang", lang, "--log"])
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sockhub quiz")
}

#[tokio::test]
async fn the_quiz_client_logs_its_game_in_its_language() {
    let server = TestServer::with(|c| {
        c.quiz.seed = Some(11);
        c.quiz.duration_secs = 4;
        c.quiz.answer_secs = 1.0;
        c.quiz.pause_secs = [0.0, 0.1];
    })
    .await;
    let addr = server.addr("quiz").to_string();
    let dir = tempfile::tempdir().unwrap();
    let (en_log, ko_log, refused_log) =
        (dir.path().join("en.log"), dir.path().join("ko.log"), dir.path().join("refused.log"));
    let mut en = bot(&addr, "alice", "en", &en_log);
    let mut ko = bot(&addr, "민수", "ko", &ko_log);

    // While 민수 plays, a second 민수 is refused: the log says so.
    eventually("민수 to be playing", || async { parse_log(&ko_log).len().ge(&2).then_some(()) }).await;
    let refused = tokio::process::Command::new(BIN)
        .args(["quiz", "--addr", &addr, "--name", "민수", "--lang", "ko", "--log"])
        .arg(&refused_log)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    let lines = parse_log(&refused_log);
    assert_eq!(lines[0], ("INFO".to_owned(), format!("{addr}에 연결됨")), "{lines:?}");
    assert_eq!(lines[1].0, "ERROR", "{lines:?}");
    // The code is the protocol's; the message is in the (English) server's language.
    assert!(lines[1].1.starts_with("! name_taken: already registered user"), "{lines:?}");

    for child in [&mut en, &mut ko] {
        let status = tokio::time::timeout(PATIENCE, child.wait()).await.expect("the bot ends with the round");
        assert!(status.unwrap().success());
    }

    let en_lines = parse_log(&en_log);
    assert_eq!(en_lines[0], ("INFO".to_owned(), format!("connected to {addr}")));
    assert!(en_lines[1].1.starts_with("logged in as alice: * Welcome, alice!"), "{en_lines:?}");
    let problems: Vec<_> = en_lines.iter().filter(|(_, m)| m.contains(" problem received: ")).collect();
    let answers: Vec<_> = en_lines.iter().filter(|(_, m)| m.contains(" sent: ")).collect();
    assert!(!problems.is_empty(), "{en_lines:?}");
    assert!(!answers.is_empty(), "{en_lines:?}");
    for (level, answer) in &answers {
        // The verdict with the times: sent, received, played.
        assert!(answer.contains("[sent ") && answer.contains(" · received "), "{answer}");
        let correct = answer.contains(": correct (");
        assert_eq!(level, if correct { "INFO" } else { "WARNING" }, "{answer}");
    }
    assert!(en_lines.iter().any(|(_, m)| m == "* bye: round 1 is over"), "{en_lines:?}");

    let ko_lines = parse_log(&ko_log);
    assert_eq!(ko_lines[0], ("INFO".to_owned(), format!("{addr}에 연결됨")));
    assert!(ko_lines[1].1.starts_with("민수(으)로 로그인: * 어서와! 민수"), "{ko_lines:?}");
    assert!(ko_lines.iter().any(|(_, m)| m.contains(" 문제 받음: ")), "{ko_lines:?}");
    let answered = ko_lines.iter().filter(|(_, m)| m.contains(" 보냄: ")).count();
    assert!(answered > 0, "{ko_lines:?}");
    assert!(ko_lines.iter().any(|(_, m)| m.contains("[보냄 ") && m.contains(" · 받음 ")), "{ko_lines:?}");
    // The client speaks Korean; the reason is the English server's own words.
    assert!(ko_lines.iter().any(|(_, m)| m == "* 연결 종료: round 1 is over"), "{ko_lines:?}");
    server.stop().await;
}
