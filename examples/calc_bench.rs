//! How fast the calculator stores results durably, on the embedded SQLite database.
//!
//! `cargo run --release --example calc_bench [STUDENTS] [PER_STUDENT]` (defaults 200 and 50).
//!
//! 1. The group commit alone: STUDENTS tasks each commit PER_STUDENT results one after another
//!    (as sessions do: one in flight each), through a `Committer` that groups up to 256 results
//!    per transaction — and, for comparison, through one that commits each result on its own.
//! 2. End to end: a real server on port 0 and STUDENTS JSON clients on loopback, each squaring
//!    PER_STUDENT numbers and waiting for its own result (stored, then broadcast to everyone).
//!
//! Every result is durable (`synchronous = FULL`, WAL) before it is acknowledged in all cases.

use std::time::{Duration, Instant};

use sockhub_client::calc::CalcConn;
use sockhub_server::config::RosterMode;
use sockhub_server::service::calc::Committer;
use sockhub_server::{Config, Server};
use sockhub_store::{NewCalcResult, Store, StoreOptions, now};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let students = args.next().unwrap_or(200);
    let per = args.next().unwrap_or(50);
    println!("{students} students x {per} results each, SQLite (synchronous = FULL)");

    for batch in [1, 256] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::sqlite(dir.path().join("bench.db"))).await.unwrap();
        let committer = Committer::spawn(store.clone(), 4096, batch);
        let started = Instant::now();
        let tasks: Vec<_> = (0..students)
            .map(|s| {
                let committer = committer.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        let r = NewCalcResult {
                            student_id: format!("{}", 20_000_000 + s),
                            name: "김민수".into(),
                            input: format!("{i}.5"),
                            square: format!("{}", i * i),
                            at: now(),
                        };
                        committer.commit(r).await.expect("stored");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = started.elapsed();
        let stats = committer.stats();
        let batches = stats.batches.load(std::sync::atomic::Ordering::Relaxed);
        report(&format!("group commit, up to {batch:>3} per transaction"), students * per, elapsed);
        println!(
            "    {batches} transactions, {:.1} results each on average, largest {}",
            (students * per) as f64 / batches as f64,
            stats.largest_batch.load(std::sync::atomic::Ordering::Relaxed)
        );
        store.close().await;
    }

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    config.chat.enabled = false;
    config.calc.port = 0;
    config.calc.roster = RosterMode::Open;
    config.limits.rate_per_sec = 0.0;
    config.limits.outbound_queue = 1 << 20;
    let server = Server::bind(config).await.unwrap();
    let addr = server.addrs()["calc"].to_string();
    let stop = server.hub().shutdown_token().clone();
    let running = tokio::spawn(server.run());
    let mut conns = Vec::new();
    for s in 0..students {
        conns.push(CalcConn::login(&addr, &format!("{}", 20_000_000 + s)).await.unwrap());
    }
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                for i in 0..per {
                    let r = c.square(&format!("{i}.5"), |_| {}).await.unwrap();
                    assert!(r.is_ok(), "{r:?}");
                }
                c
            })
        })
        .collect();
    let mut conns = Vec::new();
    for t in tasks {
        conns.push(t.await.unwrap());
    }
    report("end to end over TCP (each result also broadcast to all)", students * per, started.elapsed());
    drop(conns);
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
}

fn report(what: &str, n: usize, elapsed: Duration) {
    println!(
        "  {what}: {n} results in {:.2} s = {:.0} results/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}
