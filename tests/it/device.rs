//! `sockhub device` as a streaming device, the real binary against real relays: a `tail -f`-style
//! pipe delivers records while it stays open; a device killed with SIGKILL while its relay could
//! not acknowledge anything is restarted on its spool and every record ends up on Server2 exactly
//! once; a followed file is sent across rotation and truncation, a restart resumes where it
//! stopped, a full window pauses reading instead of dropping, and a device that gave up on a
//! file resumes from its spool without sending anything twice.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::relay::{Node, SETTLE, eventually};
use crate::support::{BIN, BinaryServer};

/// `sockhub serve` as a process with a relay forwarding to `downstream` (if any).
async fn relay_process(dir: &Path, downstream: Option<std::net::SocketAddr>) -> BinaryServer {
    std::fs::create_dir_all(dir).unwrap();
    let mut toml = "[relay]\nretry_initial_ms = 50\nretry_max_ms = 300\n".to_owned();
    if let Some(d) = downstream {
        toml.push_str(&format!("downstream = \"{d}\"\n"));
    }
    let config = dir.join("sockhub.toml");
    std::fs::write(&config, toml).unwrap();
    BinaryServer::start(&dir.join("data"), &["--log-level", "warn", "--config", config.to_str().unwrap()])
        .await
}

fn device(relay: std::net::SocketAddr, source: &str, spool: &Path, input: &[&str]) -> Child {
    Command::new(BIN)
        .args(["device", "--source", source, "--addr", &relay.to_string(), "--spool"])
        .arg(spool)
        .args(input)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sockhub device")
}

/// What `sockhub device --show-spool` says about `spool`.
async fn show_spool(source: &str, spool: &Path) -> String {
    let out = Command::new(BIN)
        .args(["device", "--source", source, "--show-spool", "--spool"])
        .arg(spool)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Payloads stored on `node` for `source`, by seq; fails on a seq stored twice.
async fn stored(node: &Node, source: &str) -> BTreeMap<i64, String> {
    let mut by_seq = BTreeMap::new();
    for r in node.records(None).await.into_iter().filter(|r| r.source == source) {
        assert!(by_seq.insert(r.seq, r.payload).is_none(), "seq {} stored twice", r.seq);
    }
    by_seq
}

/// Waits for the device to exit and returns its status, stdout and stderr.
async fn finish(child: Child) -> (std::process::ExitStatus, String, String) {
    let out =
        tokio::time::timeout(SETTLE, child.wait_with_output()).await.expect("the device exits").unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn signal(pid: u32, name: &str) {
    let ok =
        std::process::Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
    assert!(ok.success(), "kill -{name} {pid}");
}

#[tokio::test]
async fn a_piped_device_streams_and_after_a_kill_its_spool_delivers_everything_exactly_once() {
    let root = tempfile::tempdir().unwrap();
    let s2 = Node::start(None, |_| {}).await;
    let s1 = relay_process(&root.path().join("s1"), Some(s2.addr())).await;
    let spool = root.path().join("spool");
    let line = |i: usize| format!("line {i} 한글");

    // `tail -f app.log | sockhub device ... -`: each line reaches Server2 while stdin is open.
    let mut a = device(s1.addr("relay"), "pipe", &spool, &["-"]);
    let mut stdin = a.stdin.take().unwrap();
    for i in 1..=5 {
        stdin.write_all(format!("{}\n", line(i)).as_bytes()).await.unwrap();
        eventually("the line reaches Server2 while stdin is open", || async {
            stored(&s2, "pipe").await.get(&(i as i64)) == Some(&line(i))
        })
        .await;
    }

    // Server1 frozen: nothing can be acknowledged. Lines 6..10 go into the spool (and maybe onto
    // Server1's socket), then the device dies without a word.
    s1.signal("STOP");
    for i in 6..=10 {
        stdin.write_all(format!("{}\n", line(i)).as_bytes()).await.unwrap();
    }
    eventually("the device has spooled lines 6..10", || async {
        show_spool("pipe", &spool).await.contains("pipe: 5 records waiting")
    })
    .await;
    assert!(show_spool("pipe", &spool).await.contains("(seqs 6..10), next seq 11"));
    a.kill().await.unwrap();
    drop(stdin);
    s1.signal("CONT");

    // Restarted on its spool: the five unacknowledged records first, then new lines.
    let mut b = device(s1.addr("relay"), "pipe", &spool, &["-"]);
    let mut stdin = b.stdin.take().unwrap();
    for i in 11..=15 {
        stdin.write_all(format!("{}\n", line(i)).as_bytes()).await.unwrap();
    }
    drop(stdin);
    let (status, out, err) = finish(b).await;
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("pipe: 10 of 10 records acknowledged (seqs 6..15)"), "{out}");
    assert!(out.contains("5 from the spool") && out.contains("0 left in the spool"), "{out}");

    let expected: BTreeMap<i64, String> = (1..=15).map(|i| (i as i64, line(i))).collect();
    eventually("Server2 has every record", || async { stored(&s2, "pipe").await.len() >= 15 }).await;
    assert_eq!(stored(&s2, "pipe").await, expected, "every record once, with its payload");
    assert_eq!(s2.counters("pipe").await.received, 15, "Server2 stored nothing twice");
    assert!(show_spool("pipe", &spool).await.contains("0 records waiting"));
    s1.stop().await;
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn a_followed_file_is_sent_across_rotation_and_truncation_and_resumes_after_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let sink = Node::start(None, |_| {}).await;
    let log = root.path().join("app.log");
    let spool = root.path().join("spool");
    append(&log, "a1\na2\n");
    let follow = ["--follow", log.to_str().unwrap(), "--poll-ms", "20"];
    let dev = device(sink.addr(), "app", &spool, &follow);
    let sink = &sink;
    let has = |n: usize| move || async move { stored(sink, "app").await.len() >= n };
    eventually("the file's lines arrive", has(2)).await;

    // Rotation: the writer appends to the old file until the new one appears.
    append(&log, "a3\na4\n");
    std::fs::rename(&log, root.path().join("app.log.1")).unwrap();
    append(&root.path().join("app.log.1"), "a5\n");
    let long: Vec<String> = (1..=20).map(|i| format!("b{i} {}", "x".repeat(10))).collect();
    append(&log, &(long.join("\n") + "\n"));
    eventually("the old file's last lines and the new file arrive", has(25)).await;

    // Truncation: the file shrinks below what was read, then grows again.
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, "c1\nc2\n");
    eventually("the lines after the truncation arrive", has(27)).await;

    signal(dev.id().unwrap(), "TERM");
    let (status, out, err) = finish(dev).await;
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("app: 27 of 27 records acknowledged (seqs 1..27)"), "{out}");

    // A restart on the same spool goes on where the last one stopped in the file.
    append(&log, "d1\n");
    let dev = device(sink.addr(), "app", &spool, &follow);
    eventually("the new line arrives", has(28)).await;
    signal(dev.id().unwrap(), "TERM");
    let (status, out, err) = finish(dev).await;
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("app: 1 of 1 records acknowledged (seqs 28..28)"), "{out}");

    let mut expected: Vec<String> = ["a1", "a2", "a3", "a4", "a5"].map(String::from).to_vec();
    expected.extend(long);
    expected.extend(["c1", "c2", "d1"].map(String::from));
    let payloads: Vec<String> = stored(sink, "app").await.into_values().collect();
    assert_eq!(payloads, expected, "every line once, in order");
}

#[tokio::test]
async fn a_full_window_pauses_reading_and_drops_nothing() {
    let root = tempfile::tempdir().unwrap();
    let sink = relay_process(&root.path().join("sink"), None).await;
    let log = root.path().join("app.log");
    let spool = root.path().join("spool");
    append(&log, &(1..=50).map(|i| format!("r{i}\n")).collect::<String>());
    sink.signal("STOP");
    // `--first-seq 1`: a frozen relay cannot tell where the numbering goes on.
    let follow = ["--follow", log.to_str().unwrap(), "--max-pending", "4", "--first-seq", "1"];
    let dev = device(sink.addr("relay"), "bp", &spool, &follow);
    eventually("the device fills its window", || async {
        show_spool("bp", &spool).await.contains("bp: 4 records waiting")
    })
    .await;
    // It stays full: reading has paused (the spool would show more otherwise).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = show_spool("bp", &spool).await;
    assert!(held.contains("bp: 4 records waiting") && held.contains("(seqs 1..4), next seq 5"), "{held}");
    sink.signal("CONT");
    eventually("everything is acknowledged", || async {
        show_spool("bp", &spool).await.contains("next seq 51")
            && show_spool("bp", &spool).await.contains(" 0 records")
    })
    .await;
    signal(dev.id().unwrap(), "TERM");
    let (status, out, err) = finish(dev).await;
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("bp: 50 of 50 records acknowledged (seqs 1..50)"), "{out}");
    sink.stop().await;
}

#[tokio::test]
async fn a_device_that_gave_up_on_a_file_resumes_from_its_spool_without_duplicates() {
    let root = tempfile::tempdir().unwrap();
    let sink = relay_process(&root.path().join("sink"), None).await;
    let file = root.path().join("batch.log");
    let spool = root.path().join("spool");
    append(&file, &(1..=10).map(|i| format!("f{i}\n")).collect::<String>());
    let args = ["--first-seq", "1", "--max-pending", "4", "--patience", "1", file.to_str().unwrap()];

    // The relay is frozen: the device reads four lines, waits a second, gives up, and keeps them.
    sink.signal("STOP");
    let (status, out, err) = finish(device(sink.addr("relay"), "batch", &spool, &args)).await;
    assert!(!status.success(), "{out}{err}");
    assert!(err.contains("4 records not acknowledged (kept in the spool"), "{err}");
    assert!(show_spool("batch", &spool).await.contains("(seqs 1..4), next seq 5"));

    // Again, with the relay back: the four, then the rest of the file, each once.
    sink.signal("CONT");
    let (status, out, err) = finish(device(sink.addr("relay"), "batch", &spool, &args)).await;
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("batch: 10 of 10 records acknowledged (seqs 1..10)"), "{out}");
    assert!(out.contains("4 from the spool, 0 left in the spool"), "{out}");
    let data = root.path().join("sink").join("data");
    let mut config = crate::support::test_config(&data);
    config.chat.enabled = false;
    let store = sockhub_store::Store::open(&sockhub_server::app::store_options(&config)).await.unwrap();
    let rows = store.relay().list(&sockhub_store::RelayFilter::default()).await.unwrap();
    assert_eq!(rows.len(), 10, "stored once each");
    let got: BTreeMap<i64, String> = rows.into_iter().map(|r| (r.seq, r.payload)).collect();
    let want: BTreeMap<i64, String> = (1..=10).map(|i| (i, format!("f{i}"))).collect();
    assert_eq!(got, want);
    drop(store);
    sink.stop().await;
}
