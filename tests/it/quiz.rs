//! The quiz over real sockets, on a paused clock: whole 600-second rounds in a fraction of a
//! second of real time, with every verdict, rejoining, leaderboards, clean closes and the
//! per-player log files checked.
//!
//! # Why these tests are deterministic on a paused clock with real sockets
//!
//! With `start_paused`, tokio advances the clock by itself whenever the runtime has nothing to
//! run: it jumps straight to the next timer. With real sockets that is a trap: between a write on
//! one end and the read on the other, every task may look idle (the bytes are in the kernel, the
//! reader has not been told yet), so the clock could jump past a deadline while an answer is in
//! flight, and an answer given in time would be judged late.
//!
//! So these tests never let the runtime go idle. The test task itself is always runnable: every
//! wait goes through [`spin`], which polls the awaited future and, when it is not ready, yields
//! (`yield_now`) instead of sleeping. A yielding task keeps the scheduler busy, so the clock is
//! never auto-advanced; each yield also lets the scheduler poll the I/O driver, so bytes written on
//! loopback (which Linux delivers to the peer's socket within the `write` call) are picked up at
//! once. Virtual time then moves only through [`Clock::advance`], in fixed steps of [`STEP`], after
//! which [`settle`] yields enough times for every consequence of the step (timers firing, frames
//! written, lines read by the players' reader tasks) to happen at that same virtual instant. A
//! player's answer is sent at a step boundary and read by the server before the next step, so
//! "answered after 1 s" is exactly 1000 ms by the server's clock, every run.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::task::Poll;
use std::time::Duration;

use serde_json::{Value, json};
use sockhub_proto::problem::Problem;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use crate::support::{PATIENCE, TestServer};

/// The virtual time one [`Clock::advance`] moves.
const STEP: Duration = Duration::from_millis(250);
/// Yields after each step: each is a pass over every runnable task and a poll of the I/O driver.
const SETTLE: usize = 12;

/// Drive `fut` to completion without ever letting the runtime go idle (see the module doc), with
/// a real-time limit so that a missing reply fails the test instead of hanging it.
async fn spin<F: Future>(fut: F) -> F::Output {
    drive(fut, false).await
}

/// Like [`spin`], but moving the clock whenever `fut` is not ready: for waits whose timing does
/// not matter (a shutdown, with its grace and linger timers).
async fn spin_advancing<F: Future>(fut: F) -> F::Output {
    drive(fut, true).await
}

async fn drive<F: Future>(fut: F, advance: bool) -> F::Output {
    let started = std::time::Instant::now();
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
            return v;
        }
        assert!(started.elapsed() < PATIENCE, "nothing happened for {PATIENCE:?} of real time");
        if advance {
            // Slowly (10 ms of virtual time per millisecond of real time): the database's
            // real-time work during a shutdown must not look like ten seconds of silence.
            std::thread::sleep(Duration::from_millis(1));
            tokio::time::advance(Duration::from_millis(10)).await;
            settle().await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}

/// Let everything that can happen at this instant happen.
async fn settle() {
    for _ in 0..SETTLE {
        tokio::task::yield_now().await;
    }
}

/// The test's control of virtual time.
struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock { start: tokio::time::Instant::now() }
    }

    /// Virtual time since the clock was made.
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn advance(&self) {
        tokio::time::advance(STEP).await;
        settle().await;
    }
}

/// A player on a real socket: lines arrive through a reader task into a queue the test drains
/// without blocking.
struct Player {
    name: String,
    json: bool,
    writer: OwnedWriteHalf,
    lines: mpsc::UnboundedReceiver<String>,
    closed: bool,
    seen: Vec<String>,
}

impl Player {
    async fn connect(addr: SocketAddr, name: &str, json: bool) -> Player {
        let stream = spin(TcpStream::connect(addr)).await.expect("connect");
        let (read, writer) = stream.into_split();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut read = BufReader::new(read).lines();
            while let Ok(Some(line)) = read.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Player { name: name.into(), json, writer, lines, closed: false, seen: Vec::new() }
    }

    /// Connect and log in; returns the player and the welcome line.
    async fn join(addr: SocketAddr, name: &str, json: bool) -> (Player, String) {
        let mut p = Player::connect(addr, name, json).await;
        let login = if json { json!({"type": "login", "name": name}).to_string() } else { name.to_owned() };
        p.send(&login).await;
        let welcome = p.expect(|l| l.contains("elcome") && l.contains(name)).await;
        (p, welcome)
    }

    async fn send(&mut self, line: &str) {
        spin(self.writer.write_all(format!("{line}\n").as_bytes())).await.expect("send");
        settle().await;
    }

    /// Lines that have arrived (never waits).
    fn take(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match self.lines.try_recv() {
                Ok(line) => out.push(line),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.closed = true;
                    break;
                }
            }
        }
        self.seen.extend(out.iter().cloned());
        out
    }

    /// Wait (without moving the clock) for a line matching `pred`.
    async fn expect(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let name = self.name.clone();
        spin(async {
            loop {
                match self.lines.recv().await {
                    Some(line) => {
                        self.seen.push(line.clone());
                        if pred(&line) {
                            return line;
                        }
                    }
                    None => panic!("{name}: connection closed; saw {:?}", self.seen),
                }
            }
        })
        .await
    }

    fn answer_line(&self, id: u64, value: &str) -> String {
        if self.json {
            json!({"type": "answer", "id": id, "value": value}).to_string()
        } else {
            value.to_owned()
        }
    }
}

/// What a line means, in either mode.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Question { id: u64, text: String, attempt: u32 },
    Verdict { result: String, sum: Option<i64>, elapsed_ms: Option<u64> },
    Scores,
    RoundOver,
    Bye(String),
    Other,
}

fn parse(line: &str, json: bool) -> Seen {
    if json {
        let Ok(v) = serde_json::from_str::<Value>(line) else { return Seen::Other };
        return match v["type"].as_str().unwrap_or("") {
            "question" => Seen::Question {
                id: v["id"].as_u64().unwrap(),
                text: v["text"].as_str().unwrap().to_owned(),
                attempt: v["attempt"].as_u64().unwrap() as u32,
            },
            "verdict" => Seen::Verdict {
                result: v["result"].as_str().unwrap().to_owned(),
                sum: v["sum"].as_i64(),
                elapsed_ms: v["elapsed_ms"].as_u64(),
            },
            "scores" => Seen::Scores,
            "round_over" => Seen::RoundOver,
            "bye" => Seen::Bye(v["reason"].as_str().unwrap().to_owned()),
            _ => Seen::Other,
        };
    }
    if let Some(rest) = line.strip_prefix('Q')
        && let Some((id, rest)) = rest.split_once(" [")
        && let Some((_, rest)) = rest.split_once("] ")
        && let Some((text, tail)) = rest.split_once(" = ?")
    {
        let attempt = if tail.contains("again") { 2 } else { 1 };
        return Seen::Question { id: id.parse().unwrap(), text: text.to_owned(), attempt };
    }
    for (prefix, result) in [
        ("correct (", "correct"),
        ("wrong: ", "wrong"),
        ("too late: ", "late"),
        ("invalid input: ", "invalid"),
        ("time's up: ", "timeout"),
    ] {
        if line.starts_with(prefix) {
            let sum = line.split_once("— sum ").and_then(|(_, r)| r.split([';', ' ']).next()?.parse().ok());
            return Seen::Verdict { result: result.into(), sum, elapsed_ms: None };
        }
    }
    if line.starts_with("* Scores") {
        return Seen::Scores;
    }
    if line.starts_with("* Round") && line.contains("is over") {
        return Seen::RoundOver;
    }
    if let Some(reason) = line.strip_prefix("* bye: ") {
        return Seen::Bye(reason.to_owned());
    }
    Seen::Other
}

/// How a scripted player answers the `attempt`-th asking of a problem whose answer is `right`:
/// after how long, and what (`None`: stay silent).
type Plan = fn(attempt: u32, right: i64) -> Option<(Duration, String)>;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Always right, after a second.
fn always_right(_: u32, right: i64) -> Option<(Duration, String)> {
    Some((secs(1.0), right.to_string()))
}

/// Wrong the first time, then right.
fn wrong_then_right(attempt: u32, right: i64) -> Option<(Duration, String)> {
    Some(if attempt == 1 { (secs(2.0), (right + 1).to_string()) } else { (secs(1.5), right.to_string()) })
}

/// Silent the first time (the deadline passes), then right.
fn silent_then_right(attempt: u32, right: i64) -> Option<(Duration, String)> {
    (attempt > 1).then(|| (secs(0.5), right.to_string()))
}

/// Not a number, then too late (after the deadline, during the pause), then right.
fn invalid_late_right(attempt: u32, right: i64) -> Option<(Duration, String)> {
    Some(match attempt {
        1 => (secs(1.0), "abc".into()),
        2 => (secs(5.5), right.to_string()),
        _ => (secs(0.75), right.to_string()),
    })
}

/// A scripted player's bookkeeping.
struct Script {
    player: Player,
    plan: Plan,
    /// The open question: id, answer, how many times it has been asked.
    open: Option<(u64, i64, u32)>,
    /// Asks per problem id (text mode only says "again", so count here).
    asks: BTreeMap<u64, u32>,
    due: Option<(Duration, String)>,
    /// Verdicts by result, and the sum the server reported last.
    verdicts: BTreeMap<String, u32>,
    sum: i64,
    /// What the sum should be: the answers of the problems judged correct.
    expected_sum: i64,
    /// The answer the last judged problem had, for `expected_sum`.
    last_right: i64,
    elapsed: Vec<u64>,
    over: bool,
    bye: Option<String>,
}

impl Script {
    fn new(player: Player, plan: Plan) -> Script {
        Script {
            player,
            plan,
            open: None,
            asks: BTreeMap::new(),
            due: None,
            verdicts: BTreeMap::new(),
            sum: 0,
            expected_sum: 0,
            last_right: 0,
            elapsed: Vec::new(),
            over: false,
            bye: None,
        }
    }

    /// Read what arrived and, when an answer is due at `now`, send it.
    async fn tick(&mut self, now: Duration) {
        for line in self.player.take() {
            match parse(&line, self.player.json) {
                Seen::Question { id, text, .. } => {
                    let right = Problem::parse(&text).expect("a problem").answer();
                    let asks = self.asks.entry(id).or_default();
                    *asks += 1;
                    self.open = Some((id, right, *asks));
                    self.due = (self.plan)(*asks, right).map(|(after, value)| (now + after, value));
                }
                Seen::Verdict { result, sum, elapsed_ms } => {
                    if result == "correct" {
                        self.expected_sum += self.last_right;
                    }
                    if result != "late" {
                        self.open = None;
                    }
                    if let Some(sum) = sum {
                        self.sum = sum;
                    }
                    self.elapsed.extend(elapsed_ms);
                    *self.verdicts.entry(result).or_default() += 1;
                }
                Seen::RoundOver => self.over = true,
                Seen::Bye(reason) => self.bye = Some(reason),
                Seen::Scores | Seen::Other => {}
            }
        }
        if let Some((at, value)) = self.due.clone()
            && now >= at
        {
            self.due = None;
            let (id, right, _) = self.open.or(self.last_open()).expect("an answer has a question");
            self.last_right = right;
            let line = self.player.answer_line(id, &value);
            self.player.send(&line).await;
        }
    }

    /// The last question asked (a late answer goes to a question that is no longer open).
    fn last_open(&self) -> Option<(u64, i64, u32)> {
        let (&id, &asks) = self.asks.iter().next_back()?;
        Some((id, self.last_right, asks))
    }
}

fn quiz_config(c: &mut sockhub_server::Config) {
    c.quiz.seed = Some(2026);
    c.quiz.pause_secs = [1.5, 3.0];
    c.quiz.answer_secs = 5.0;
    c.quiz.duration_secs = 600;
}

fn player_log(dir: &Path, name: &str) -> String {
    let key = sockhub_store::name_key(name);
    let files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    let file = files
        .iter()
        .find(|f| f.file_name().unwrap().to_string_lossy().starts_with(&format!("{key}-")))
        .unwrap_or_else(|| panic!("no log file for {name} in {files:?}"));
    std::fs::read_to_string(file).unwrap()
}

/// A whole 600 s round with four players (two in JSON mode, two in text mode), each verdict on
/// purpose, a rejoin, the live and the final leaderboard, clean closes, per-player logs.
#[tokio::test(start_paused = true)]
async fn a_full_round_of_four_players_on_a_paused_clock() {
    let real = std::time::Instant::now();
    let server = spin(TestServer::with(quiz_config)).await;
    let addr = server.addr("quiz");
    let log_dir = server.data_dir().join("logs").join("quiz");
    let clock = Clock::new();

    let mut scripts = Vec::new();
    for (name, json, plan) in [
        ("alice", true, always_right as Plan),
        ("bob", true, wrong_then_right),
        ("carol", false, silent_then_right),
        ("김다은", false, invalid_late_right),
    ] {
        let (player, welcome) = Player::join(addr, name, json).await;
        scripts.push((Script::new(player, plan), welcome));
    }
    // The round starts once its row is in the database, which takes real time, not virtual time:
    // the clock must not move before it has started, or the round would start at a virtual time
    // that depends on the disk. So wait (without moving the clock) for everyone to hear of it.
    let mut scripts: Vec<Script> = {
        let mut started = Vec::new();
        for (mut s, welcome) in scripts {
            if welcome.contains("\"waiting\"") || welcome.contains("Waiting for the round") {
                s.player.expect(|l| l.contains("round_started") || l.starts_with("* Round 1 started")).await;
            }
            started.push(s);
        }
        started
    };

    let mut rejoined = false;
    let mut left_with = None;
    while scripts.iter().any(|s| !s.player.closed) {
        if clock.now() > Duration::from_secs(700) {
            for s in &scripts {
                eprintln!(
                    "{} closed={} over={} last={:?}",
                    s.player.name,
                    s.player.closed,
                    s.over,
                    &s.player.seen[s.player.seen.len().saturating_sub(4)..]
                );
            }
            panic!("the round did not end");
        }
        // Once everyone has the final leaderboard, the server writes the logs (real time, on its
        // log thread) before it closes the connections: wait for that without moving the clock.
        if scripts.iter().all(|s| s.over) {
            for s in &mut scripts {
                while !s.player.closed {
                    let line = spin(s.player.lines.recv()).await;
                    match line {
                        Some(line) => {
                            s.player.seen.push(line.clone());
                            if let Seen::Bye(reason) = parse(&line, s.player.json) {
                                s.bye = Some(reason);
                            }
                        }
                        None => s.player.closed = true,
                    }
                }
            }
            break;
        }
        clock.advance().await;
        let now = clock.now();
        for s in &mut scripts {
            s.tick(now).await;
        }
        // Bob leaves two minutes in, between problems, and comes back ten seconds later.
        let bob = &mut scripts[1];
        if left_with.is_none() && now >= secs(120.0) && bob.open.is_none() && bob.due.is_none() {
            bob.player.send(r#"{"type":"quit"}"#).await;
            bob.player.expect(|l| l.contains("goodbye")).await;
            left_with = Some(bob.sum);
        }
        if let Some(sum) = left_with
            && !rejoined
            && now >= secs(130.0)
        {
            let (player, welcome) = Player::join(addr, "bob", true).await;
            let w: Value = serde_json::from_str(&welcome).unwrap();
            assert_eq!(w["rejoined"], true, "{w}");
            assert_eq!(w["sum"], sum, "a rejoin keeps the sum: {w}");
            bob.player = player;
            bob.open = None;
            rejoined = true;
        }
    }

    assert!(rejoined, "bob left and came back");
    for s in &scripts {
        let name = &s.player.name;
        assert!(s.over, "{name} got the final leaderboard");
        assert_eq!(s.bye.as_deref(), Some("round 1 is over"), "{name}");
        assert_eq!(s.sum, s.expected_sum, "{name}: the sum is the answers of the correct problems");
        assert!(s.verdicts["correct"] >= 20, "{name}: {:?}", s.verdicts);
        let round_over =
            s.player.seen.iter().position(|l| parse(l, s.player.json) == Seen::RoundOver).unwrap();
        let last = s.player.seen.last().unwrap();
        assert!(
            round_over < s.player.seen.len() - 1
                && parse(last, s.player.json) == Seen::Bye("round 1 is over".into()),
            "{name}: the leaderboard, then bye, then the close: {:?}",
            &s.player.seen[round_over..]
        );
        assert!(
            s.player.seen.iter().filter(|l| parse(l, s.player.json) == Seen::Scores).count() >= 6,
            "{name}: scores every minute"
        );
    }
    let v = |i: usize, r: &str| scripts[i].verdicts.get(r).copied().unwrap_or(0);
    assert_eq!(
        (v(0, "wrong"), v(0, "timeout"), v(0, "late"), v(0, "invalid")),
        (0, 0, 0, 0),
        "alice is always right"
    );
    assert!(
        v(1, "wrong") >= 20 && v(1, "wrong") <= v(1, "correct") + 1,
        "bob: wrong, then right: {:?}",
        scripts[1].verdicts
    );
    assert!(
        v(2, "timeout") >= 20 && v(2, "timeout") <= v(2, "correct") + 1,
        "carol: {:?}",
        scripts[2].verdicts
    );
    assert!(
        v(3, "invalid") >= 10 && v(3, "late") >= 10 && v(3, "timeout") >= 10,
        "다은: {:?}",
        scripts[3].verdicts
    );
    // Elapsed times are exact on the step grid: alice always answers after exactly 1 s.
    assert!(scripts[0].elapsed.iter().all(|&ms| ms == 1000), "{:?}", scripts[0].elapsed);
    assert!(scripts[1].elapsed.iter().all(|&ms| ms == 2000 || ms == 1500), "{:?}", scripts[1].elapsed);

    // The final leaderboard every player got matches the sums.
    let over = scripts[0].player.seen.iter().find(|l| l.contains("\"round_over\"")).unwrap();
    let over: Value = serde_json::from_str(over).unwrap();
    assert_eq!(over["duration_secs"], 600);
    let board = over["players"].as_array().unwrap();
    assert_eq!(board.len(), 4, "{over}");
    for entry in board {
        let s = scripts.iter().find(|s| s.player.name == entry["name"]).unwrap();
        assert_eq!(entry["sum"], s.sum, "{entry}");
    }
    let sums: Vec<i64> = board.iter().map(|e| e["sum"].as_i64().unwrap()).collect();
    assert!(sums.windows(2).all(|w| w[0] >= w[1]), "best first: {sums:?}");

    // One log file per player, with every kind of event.
    for s in &scripts {
        let log = player_log(&log_dir, &s.player.name);
        let name = &s.player.name;
        for needle in [
            &format!("{name} joined"),
            " sent to ",
            " answer received from ",
            " correct for ",
            "round 1 over: ",
        ] {
            assert!(log.contains(needle), "{name}'s log lacks {needle:?}:\n{log}");
        }
        assert!(
            log.lines().all(|l| l.len() > 22 && (&l[19..22] == " [I" || &l[19..22] == " [W")),
            "format: {log}"
        );
    }
    let dave = player_log(&log_dir, "김다은");
    for needle in ["invalid input for", "too late for", "no answer from"] {
        assert!(dave.contains(needle), "{needle}: {dave}");
    }
    let bob = player_log(&log_dir, "bob");
    assert!(bob.contains("bob left: goodbye") && bob.contains("bob rejoined round 1 with sum"), "{bob}");
    assert!(player_log(&log_dir, "bob").contains(" wrong for bob"));

    drop(scripts);
    spin_advancing(server.stop()).await;
    let took = real.elapsed();
    eprintln!("a 600 s round with 4 players took {took:?} of real time");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// The next question, moving the clock step by step; returns it and the virtual time it came.
async fn next_question(clock: &Clock, p: &mut Player) -> (Value, Duration) {
    loop {
        for line in p.take() {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["type"] == "question" {
                return (v, clock.now());
            }
            assert_ne!(v["type"], "verdict", "unexpected verdict {v}");
        }
        assert!(clock.now() < Duration::from_secs(60), "no question came");
        clock.advance().await;
    }
}

/// Move the clock by `d` (a multiple of the step).
async fn wait(clock: &Clock, d: Duration) {
    let until = clock.now() + d;
    while clock.now() < until {
        clock.advance().await;
    }
}

/// Each verdict in turn, each followed by the same problem after a pause within `pause_secs`,
/// until the right answer brings a new one.
#[tokio::test(start_paused = true)]
async fn every_verdict_brings_the_same_problem_back_after_a_bounded_pause() {
    let server = spin(TestServer::with(quiz_config)).await;
    let clock = Clock::new();
    let (mut p, welcome) = Player::join(server.addr("quiz"), "solo", true).await;
    if welcome.contains("\"waiting\"") {
        p.expect(|l| l.contains("round_started")).await;
    }
    let verdict = |p: &mut Player| {
        let lines = p.take();
        lines.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|v| v["type"] == "verdict")
    };
    let answer = |id: &Value, value: &str| json!({"type": "answer", "id": id, "value": value}).to_string();
    let in_pause = |gap: Duration| gap >= secs(1.5) && gap <= secs(3.25);

    let (q, _) = next_question(&clock, &mut p).await;
    let (id, text) = (q["id"].clone(), q["text"].as_str().unwrap().to_owned());
    let right = Problem::parse(&text).unwrap().answer();
    assert_eq!((q["attempt"].as_u64(), q["deadline_ms"].as_u64()), (Some(1), Some(5000)));

    // Wrong, after one second by the server's clock.
    wait(&clock, secs(1.0)).await;
    p.send(&answer(&id, &(right + 7).to_string())).await;
    let v = verdict(&mut p).expect("a verdict at once");
    assert_eq!(
        (v["result"].as_str(), v["elapsed_ms"].as_u64(), v["sum"].as_i64()),
        (Some("wrong"), Some(1000), Some(0))
    );
    let judged = clock.now();
    let (q, at) = next_question(&clock, &mut p).await;
    assert_eq!((&q["id"], q["text"].as_str(), q["attempt"].as_u64()), (&id, Some(text.as_str()), Some(2)));
    assert!(in_pause(at - judged), "pause {:?}", at - judged);

    // Not a number.
    p.send(&answer(&id, "forty-two")).await;
    assert_eq!(verdict(&mut p).unwrap()["result"], "invalid");
    let judged = clock.now();
    let (q, at) = next_question(&clock, &mut p).await;
    assert_eq!((&q["id"], q["attempt"].as_u64()), (&id, Some(3)));
    assert!(in_pause(at - judged), "pause {:?}", at - judged);

    // Silence: exactly at the deadline the player is told.
    wait(&clock, secs(4.75)).await;
    assert_eq!(verdict(&mut p), None, "nothing before the deadline");
    clock.advance().await;
    let v = verdict(&mut p).expect("told at the deadline");
    assert_eq!((v["result"].as_str(), v["elapsed_ms"].as_u64()), (Some("timeout"), Some(5000)));
    assert_eq!(v.get("answer"), None);

    // An answer after the deadline (before the problem is back) is too late, right or not.
    wait(&clock, secs(0.5)).await;
    p.send(&answer(&id, &right.to_string())).await;
    let v = verdict(&mut p).expect("a late verdict");
    assert_eq!(
        (v["result"].as_str(), v["elapsed_ms"].as_u64(), v["sum"].as_i64()),
        (Some("late"), Some(5500), Some(0))
    );
    let (q, _) = next_question(&clock, &mut p).await;
    assert_eq!((&q["id"], q["attempt"].as_u64()), (&id, Some(4)));

    // Right: the value is added, a new problem follows.
    wait(&clock, secs(2.0)).await;
    p.send(&answer(&id, &format!(" {right} "))).await;
    let v = verdict(&mut p).unwrap();
    assert_eq!(
        (v["result"].as_str(), v["sum"].as_i64(), v["correct"].as_u64(), v["attempts"].as_u64()),
        (Some("correct"), Some(right), Some(1), Some(4))
    );
    let (q, _) = next_question(&clock, &mut p).await;
    assert_ne!(q["id"], id);
    assert_eq!(q["attempt"], 1);

    // An answer naming a closed question is refused, and the open one stays open.
    p.send(&answer(&id, "1")).await;
    let e: Value = serde_json::from_str(&p.take()[0]).unwrap();
    assert_eq!(e["code"], "no_question", "{e}");
    drop(p);
    spin_advancing(server.stop()).await;
}

/// Real-time settings for the tests that run the real binary or a bot: short rounds.
fn quick(c: &mut sockhub_server::Config) {
    c.quiz.seed = Some(7);
    c.quiz.duration_secs = 2;
    c.quiz.answer_secs = 1.0;
    c.quiz.pause_secs = [0.0, 0.1];
}

/// Names that try to escape the log folder, device names, Hangul, the longest name: each gets
/// its own file inside `logs/quiz`; names with control characters are refused.
#[tokio::test]
async fn hostile_names_get_safe_log_files() {
    let server = TestServer::with(|c| {
        quick(c);
        c.quiz.duration_secs = 600;
    })
    .await;
    let addr = server.addr("quiz");
    let long = "가".repeat(32);
    let names = ["../../etc/passwd", "CON", "..", "nul.txt", "a\\b", &long];
    for name in names {
        let mut c = crate::support::Client::connect(addr).await;
        c.until("* Your name?").await;
        c.send(name).await;
        let welcome = c.line().await;
        assert!(welcome.starts_with(&format!("* Welcome, {name}!")), "{welcome}");
        c.send("q").await;
        c.closed().await;
    }
    let mut c = crate::support::Client::connect(addr).await;
    c.until("* Your name?").await;
    c.send_raw("bell\u{7}name\n".as_bytes()).await;
    assert!(c.line().await.starts_with("! invalid_name:"));

    let dir = server.data_dir().join("logs").join("quiz");
    // The writer thread appends the "left" lines shortly after the disconnects.
    let deadline = std::time::Instant::now() + PATIENCE;
    let files = loop {
        let files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        if files.len() == names.len() || std::time::Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(files.len(), names.len(), "one file each: {files:?}");
    for f in &files {
        assert!(!f.contains(['/', '\\']) && !f.starts_with('.') && f.ends_with(".log"), "{f}");
        assert!(dir.join(f).is_file());
    }
    assert!(files.iter().any(|f| f.starts_with("______etc_passwd-")), "{files:?}");
    assert!(files.iter().any(|f| f.starts_with(&"가".repeat(32))), "Hangul stays readable: {files:?}");
    assert!(!server.data_dir().join("etc").exists() && !dir.parent().unwrap().join("passwd").exists());
    server.stop().await;
}

/// The real binary with `exit_after_round`: the round ends, players get the leaderboard and a
/// clean close, and the process exits 0 by itself.
#[tokio::test]
async fn exit_after_round_stops_the_real_binary_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sockhub.toml");
    std::fs::write(
        &config,
        "[quiz]\nport = 0\nduration_secs = 2\nanswer_secs = 1\npause_secs = [0, 0.1]\nexit_after_round = true\n",
    )
    .unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--ready-file")
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !ready.exists() {
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let addrs: BTreeMap<String, String> = serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
    let addr: SocketAddr = addrs["quiz"].parse().unwrap();
    let mut players = Vec::new();
    for name in ["p1", "p2", "p3", "p4"] {
        let mut c = crate::support::Client::connect(addr).await;
        c.send_json(json!({"type": "login", "name": name})).await;
        assert_eq!(c.json_of("welcome").await["name"], name);
        players.push(c);
    }
    for c in &mut players {
        let over = c.json_of("round_over").await;
        assert_eq!(over["players"].as_array().unwrap().len(), 4, "{over}");
        let rest = c.closed().await;
        let last: Value = serde_json::from_str(rest.last().expect("a bye")).unwrap();
        assert_eq!(last, json!({"type": "bye", "reason": "round 1 is over"}));
    }
    let status =
        tokio::time::timeout(PATIENCE, child.wait()).await.expect("the server exits by itself").unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A bot round on every database backend, then `sockhub quiz export` (CSV) and
/// `sockhub quiz rounds` on the real binary.
#[tokio::test]
async fn attempts_export_as_csv_and_rounds_list_winners_on_every_backend() {
    for backend in sockhub_store::testing::backends() {
        let db = sockhub_store::testing::TestDb::create(&backend).await;
        let server = TestServer::on_db(&db, |c| {
            quick(c);
            c.quiz.duration_secs = 3;
        })
        .await;
        let addr = server.addr("quiz").to_string();
        let opts = sockhub_client::quiz::BotOptions {
            accuracy: 0.5,
            think: (Duration::from_millis(10), Duration::from_millis(300)),
            seed: Some(1),
            password: None,
        };
        let (a, b) = tokio::join!(
            sockhub_client::quiz::bot(&addr, "봇,1", &opts, |_| {}),
            sockhub_client::quiz::bot(&addr, "bot\"2", &opts, |_| {})
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.bye.as_deref(), Some("round 1 is over"));
        assert!(a.answers > 0 && b.answers > 0, "{a:?} {b:?}");
        server.stop().await; // flushes the attempt log

        let scratch = tempfile::tempdir().unwrap();
        let config = crate::support::config_file_for(&db, scratch.path());
        let run = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
                .args(args)
                .arg("--config")
                .arg(&config)
                .env_remove("SOCKHUB_CONFIG")
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let csv = run(&["quiz", "export", "--round", "1", "--format", "csv"]);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some(
                "round,player,problem_id,ask,problem,expected,answer,verdict,sent_at,received_at,elapsed_ms"
            )
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(
            rows.len() as u64,
            a.verdicts.values().sum::<u64>() + b.verdicts.values().sum::<u64>(),
            "{csv}"
        );
        assert!(rows.iter().any(|r| r.starts_with("1,\"봇,1\",")), "quoted names: {csv}");
        assert!(rows.iter().any(|r| r.starts_with("1,\"bot\"\"2\",")), "{csv}");
        for row in &rows {
            assert!(
                ["correct", "wrong", "late", "invalid", "timeout"]
                    .iter()
                    .any(|v| row.contains(&format!(",{v},"))),
                "{row}"
            );
        }
        let rounds = run(&["quiz", "rounds", "--format", "csv"]);
        let first = rounds.lines().nth(1).unwrap_or_default();
        assert!(first.starts_with("1,") && first.contains("(sum "), "{rounds}");
        let json: Value = serde_json::from_str(&run(&["quiz", "export", "--format", "json"])).unwrap();
        assert_eq!(json.as_array().unwrap().len(), rows.len(), "round 2 (started at once) has no attempts");
        db.cleanup().await;
    }
}

/// Put the admin account `root` (password `s3cret`) in the database `config` names, before a
/// server on it starts.
async fn add_root(config: &sockhub_server::config::Config) {
    let store = sockhub_store::Store::open(&sockhub_server::app::store_options(config)).await.unwrap();
    crate::support::add_account(&store, "root", "s3cret", sockhub_store::Role::Admin).await;
    store.close().await;
}

/// `start = "manual"`: only an admin starts a round, from a player's connection or with
/// `sockhub quiz start`; an account's name needs its password.
#[tokio::test]
async fn a_manual_round_starts_on_an_admin_s_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    quick(&mut config);
    config.quiz.start = sockhub_server::config::QuizStart::Manual;
    add_root(&config).await;
    let server = TestServer::from_config(config).await;
    let addr = server.addr("quiz");

    let mut guest = crate::support::Client::connect(addr).await;
    guest.until("* Your name?").await;
    guest.send("guest").await;
    assert!(guest.line().await.contains("Waiting for the round to start"));
    guest.send("/start").await;
    assert!(guest.line().await.starts_with("! forbidden:"));
    guest.send("7").await;
    assert!(guest.line().await.starts_with("! no_question:"), "no question before the round");

    let mut impostor = crate::support::Client::connect(addr).await;
    impostor.until("* Your name?").await;
    impostor.send("ROOT").await;
    assert!(impostor.line().await.starts_with("! password_required:"));
    assert_eq!(impostor.line().await, "* Password for ROOT?");
    impostor.send("guess").await;
    assert!(impostor.line().await.starts_with("! bad_credentials:"));

    // An admin in the chat starts round 1.
    let mut root = crate::support::Client::chat_text_login(server.chat(), "root", "s3cret").await;
    root.send("/start").await;
    root.until("* the round is starting").await;
    assert!(guest.line().await.starts_with("* Round 1 started: 0:02 until "));
    let q = guest.line().await;
    assert!(q.starts_with("Q1 ["), "{q}");
    root.send("/start").await;
    assert!(root.line().await.starts_with("! round_running: round 1 is already running"));
    let over = guest.until("* bye: round 1 is over").await;
    assert!(over.iter().any(|l| l.starts_with("* Round 1 is over")), "{over:?}");
    guest.closed().await;

    // Round 2 waits for `sockhub quiz start`, which needs the admin's password.
    let mut player = crate::support::Client::connect(addr).await;
    player.until("* Your name?").await;
    player.send("player").await;
    assert!(player.line().await.contains("Waiting for the round to start"));
    let start = move |password: &'static str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sockhub"))
            .args(["quiz", "start", "--name", "root", "--password-stdin", "--addr", &addr.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = tokio::task::spawn_blocking(move || start("wrong")).await.unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("bad_credentials"), "{refused:?}");
    let ok = tokio::task::spawn_blocking(move || start("s3cret")).await.unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "the round is starting");
    let started = player.line().await;
    assert!(started.starts_with("* Round 2 started: 0:02 until "), "{started}");
    assert!(player.line().await.starts_with("Q1 ["));
    server.stop().await;
}

/// What a player of [`hundreds_of_coinciding_deadlines_are_each_judged_at_the_deadline`] does with
/// its one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Never answers: `timeout`.
    Silent,
    /// Answers right at once: `correct`, and no `timeout` when the deadline passes; then answers
    /// the next question after the first one's deadline: `correct` again.
    Early,
    /// Answers right as soon as its `timeout` arrives: that answer is `late`.
    AfterTimeout,
}

/// The next JSON message of type `ty` (a question or a verdict: whichever comes first), waiting
/// at most `patience` for it.
async fn next_of(c: &mut crate::support::Client, ty: &str, patience: Duration) -> Value {
    tokio::time::timeout(patience, async {
        loop {
            let mut buf = Vec::new();
            assert!(c.reader.read_until(b'\n', &mut buf).await.unwrap() > 0, "closed before a {ty}");
            if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                && (v["type"] == ty || v["type"] == "question" || v["type"] == "verdict")
            {
                assert_eq!(v["type"], ty, "{v}");
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {ty} within {patience:?}"))
}

/// One player of that test, on its own socket: log in, wait for the round, play one question by
/// `role`, leave. Returns the time from the question's arrival to the first verdict's, by this
/// player's clock, and the verdicts it got.
async fn play_one_question(
    addr: SocketAddr,
    name: String,
    role: Role,
    joined: tokio::sync::mpsc::Sender<()>,
) -> (Role, Duration, Vec<Value>) {
    let mut c = crate::support::Client::connect(addr).await;
    c.until("* Your name?").await;
    c.send_json(json!({"type": "login", "name": name})).await;
    let welcome = c.json_of("welcome").await;
    assert_eq!(welcome["state"], "waiting", "{welcome}");
    joined.send(()).await.unwrap();
    // Everyone joins before the round starts: on a loaded machine that takes a while.
    next_of(&mut c, "round_started", Duration::from_secs(60)).await;
    let q = next_of(&mut c, "question", PATIENCE).await;
    let asked = std::time::Instant::now();
    let right = Problem::parse(q["text"].as_str().unwrap()).unwrap().answer();
    let answer = json!({"type": "answer", "id": q["id"], "value": right.to_string()});
    if role == Role::Early {
        c.send_json(answer.clone()).await;
    }
    let first = next_of(&mut c, "verdict", PATIENCE).await;
    let took = asked.elapsed();
    assert_eq!(first["id"], q["id"], "{name}: {first}");
    let mut verdicts = vec![first];
    if role == Role::AfterTimeout {
        c.send_json(answer).await;
        verdicts.push(next_of(&mut c, "verdict", PATIENCE).await);
    }
    if role == Role::Early {
        // The next question comes after the pause (1 s), at the first one's deadline: answer it
        // 0.3 s after that deadline; nothing but its verdict may come in between.
        let q = next_of(&mut c, "question", PATIENCE).await;
        tokio::time::sleep_until((asked + Duration::from_millis(1300)).into()).await;
        let right = Problem::parse(q["text"].as_str().unwrap()).unwrap().answer();
        c.send_json(json!({"type": "answer", "id": q["id"], "value": right.to_string()})).await;
        let v = next_of(&mut c, "verdict", PATIENCE).await;
        assert_eq!(v["id"], q["id"], "{name}: {v}");
        verdicts.push(v);
    }
    c.send_json(json!({"type": "quit"})).await;
    c.closed().await;
    (role, took, verdicts)
}

/// Hundreds of players asked at the same instant (a manual round start, the same pause for
/// everyone), so their deadlines coincide: every silent one is told `timeout` at the deadline
/// — not before it, and not seconds after — each answer taken in before the deadline is judged
/// in time and no `timeout` follows it, and each taken in after the `timeout` is late. The server's own
/// account (`sockhub_deadline_lateness_seconds`) has exactly one judgement per timeout, all
/// within a bound that only a verdict decided by something else than the deadline misses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_coinciding_deadlines_are_each_judged_at_the_deadline() {
    const PLAYERS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.quiz.seed = Some(19);
    config.quiz.start = sockhub_server::config::QuizStart::Manual;
    config.quiz.duration_secs = 600;
    config.quiz.answer_secs = 1.0;
    // The same pause for everyone before the first question: one deadline for all.
    config.quiz.pause_secs = [1.0, 1.0];
    config.limits.max_connections_per_ip = 0;
    config.limits.max_pending_per_ip = 0;
    add_root(&config).await;
    let server = TestServer::from_config(config).await;
    let addr = server.addr("quiz");

    let (joined, mut joins) = mpsc::channel(PLAYERS);
    let roles = [Role::Silent, Role::Early, Role::AfterTimeout];
    let players: Vec<_> = (0..PLAYERS)
        .map(|i| tokio::spawn(play_one_question(addr, format!("p{i}"), roles[i % 3], joined.clone())))
        .collect();
    for _ in 0..PLAYERS {
        tokio::time::timeout(Duration::from_secs(30), joins.recv()).await.expect("everyone joins");
    }
    let mut root = crate::support::Client::chat_text_login(server.chat(), "root", "s3cret").await;
    root.send("/start").await;
    root.until("* the round is starting").await;

    let mut timeouts = 0;
    for player in players {
        let (role, took, verdicts) = player.await.unwrap();
        let results: Vec<&str> = verdicts.iter().map(|v| v["result"].as_str().unwrap()).collect();
        let first = &verdicts[0];
        match role {
            Role::Early => {
                assert_eq!(results, ["correct", "correct"], "{verdicts:?}");
                assert!(first["elapsed_ms"].as_u64().unwrap() < 1000, "{first}");
            }
            Role::Silent | Role::AfterTimeout => {
                timeouts += 1;
                assert_eq!(results[0], "timeout", "{verdicts:?}");
                assert_eq!(
                    (first["elapsed_ms"].as_u64(), first["deadline_ms"].as_u64()),
                    (Some(1000), Some(1000))
                );
                // By the player's clock: the question's trip is in the lower bound, the
                // verdict's (and the server's judgement) in the upper one.
                assert!(
                    took >= Duration::from_millis(900) && took <= Duration::from_millis(3000),
                    "a timeout {took:?} after the question: {first}"
                );
                if role == Role::AfterTimeout {
                    assert_eq!(results[1], "late", "{verdicts:?}");
                    assert!(verdicts[1]["elapsed_ms"].as_u64().unwrap() >= 1000, "{:?}", verdicts[1]);
                } else {
                    assert_eq!(results.len(), 1);
                }
            }
        }
    }
    assert_eq!(timeouts, 200);

    // The server's account, by its own clock: one judgement per timeout, none far from its
    // deadline (the bound here is the 1 s bucket).
    let (_, metrics) = crate::web::api::get(server.web(), "/metrics").await;
    let sample = |name: &str| -> f64 {
        let line =
            metrics.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}:\n{metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(sample(r#"sockhub_deadline_lateness_seconds_count{service="quiz"}"#), 200.0);
    assert_eq!(
        sample(r#"sockhub_deadline_lateness_seconds_bucket{service="quiz",le="1"}"#),
        200.0,
        "{metrics}"
    );
    server.stop().await;
}
