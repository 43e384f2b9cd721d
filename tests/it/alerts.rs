//! The alert rules in `ops/prometheus-rules.yml`: `promtool check rules` accepts them, and every
//! metric they name is in the `/metrics` of a real server — a cluster node on a shared database
//! and a private NATS, so that the cluster's series are there too. A renamed metric fails here
//! instead of silencing an alert.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::cluster::{Nats, one_backend};
use crate::support::{Db, TestServer, eventually};
use crate::web::api::get;

fn rules_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ops/prometheus-rules.yml")
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let out = std::process::Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(rules_file())
        .output()
        .expect("promtool runs (Debian's prometheus package; scripts/setup.sh installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool check rules failed:\n{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

/// Each rule's `expr`, single-line or a folded block (`>-`) of more-indented lines.
fn expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut exprs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some(value) = line.trim_start().strip_prefix("expr:") else { continue };
        let value = value.trim();
        if !matches!(value, ">" | ">-" | "|" | "|-") {
            exprs.push(value.to_owned());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut block = String::new();
        while i < lines.len() && lines[i].len() - lines[i].trim_start().len() > indent {
            block.push_str(lines[i].trim());
            block.push(' ');
            i += 1;
        }
        exprs.push(block);
    }
    exprs
}

/// The metric names a PromQL expression selects: identifiers that are not functions, keywords,
/// aggregations (`sum by (x) (...)`), label names (inside `{...}` or a `by (...)`-like clause),
/// durations or numbers.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 19] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    const CLAUSES: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Label matchers, ranges and strings hold no metric names.
        if let Some(close) = match c {
            '{' => Some('}'),
            '[' => Some(']'),
            '"' => Some('"'),
            _ => None,
        } {
            i += 1;
            while i < chars.len() && chars[i] != close {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let call = j < chars.len() && chars[j] == '(';
            if call && CLAUSES.contains(&word.as_str()) {
                // `by (label, ...)`: skip the label list.
                while j < chars.len() && chars[j] != ')' {
                    j += 1;
                }
                i = j + 1;
            } else if !call && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word);
            }
            continue;
        }
        if c.is_ascii_digit() {
            // A number, with a duration unit if any (`5m`).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    names
}

#[test]
fn metric_names_are_found_in_promql() {
    let names = metric_names(
        r#"sum by (service) (rate(sockhub_x_total{a="b"}[5m])) * 60 > 5 and ignoring(state) delta(y[10m]) == 0"#,
    );
    assert_eq!(names, BTreeSet::from(["sockhub_x_total".to_owned(), "y".to_owned()]));
}

/// Sample names in a Prometheus text exposition.
fn exposed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_metric_the_alert_rules_use_is_in_a_real_servers_metrics() {
    let yaml = std::fs::read_to_string(rules_file()).unwrap();
    let exprs = expressions(&yaml);
    assert!(exprs.len() >= 8, "the rules file has its alerts: {exprs:?}");
    let mut wanted: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    for family in ["sockhub_relay_records", "sockhub_cluster_connected", "sockhub_database_up"] {
        assert!(wanted.contains(family), "the rules use {family}: {wanted:?}");
    }

    // A fresh node, before any event: every series an alert needs must already be there.
    let backend = one_backend();
    let nats = match &backend {
        Some(_) => Some(Nats::start().await),
        None => None,
    };
    let db = match &backend {
        Some(b) => Some(Db::create(b).await),
        None => None,
    };
    let cluster = nats.as_ref().map(|n| (n.url(), "alerts-a".to_owned()));
    let configure = |c: &mut sockhub_server::Config| {
        c.relay.downstream = Some("127.0.0.1:9".into());
        if let Some((url, id)) = &cluster {
            c.cluster.nats_url = Some(url.clone());
            c.cluster.node_id = Some(id.clone());
        }
    };
    let server = match &db {
        Some(db) => db.server(configure).await,
        None => {
            // Without a shared database no node can be in a cluster: the cluster's series are
            // not checked (cluster tests say the same, and CI, which has one, fails instead).
            wanted.retain(|n| !n.starts_with("sockhub_cluster_"));
            TestServer::with(configure).await
        }
    };
    let text = eventually("a node in a cluster says so in /metrics", || async {
        let (status, text) = get(server.web(), "/metrics").await;
        (status == 200 && (cluster.is_none() || text.contains("sockhub_cluster_connected 1"))).then_some(text)
    })
    .await;
    let have = exposed(&text);
    let absent: Vec<&String> = wanted.iter().filter(|n| !have.contains(*n)).collect();
    assert!(absent.is_empty(), "the alert rules use metrics /metrics does not have: {absent:?}\n{text}");
    assert!(text.lines().any(|l| l == "sockhub_database_up 1"), "{text}");
    server.stop().await;
    if let Some(db) = db {
        db.cleanup().await;
    }
}
