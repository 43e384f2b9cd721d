//! The summary of a run: the scenario, its configuration, its results in a fixed order, and the
//! problems it found (missing deliveries, failed logins...). It prints as an aligned table for
//! people or as JSON for programs; a run with problems makes `sockhub bench` exit non-zero.

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

use crate::latency::LatencySummary;

/// A run's summary.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    /// The scenario's options, as given.
    pub config: Value,
    /// Results, in the order the scenario set them.
    pub results: Fields,
    /// What went wrong; empty for a clean run.
    pub problems: Vec<String>,
}

/// Named values that keep their order (a JSON object on output).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, Value)>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Report {
    pub fn new(scenario: &str, config: &impl Serialize) -> Self {
        Report {
            scenario: scenario.to_owned(),
            config: serde_json::to_value(config).unwrap_or(Value::Null),
            results: Fields::default(),
            problems: Vec::new(),
        }
    }

    /// Set a result (replacing an earlier value of the same name).
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        match self.results.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.results.0.push((key.to_owned(), value)),
        }
    }

    /// Set a latency result.
    pub fn latency(&mut self, key: &str, summary: LatencySummary) {
        self.set(key, summary);
    }

    /// A result by name.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.results.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Record something that went wrong.
    pub fn problem(&mut self, what: impl Into<String>) {
        self.problems.push(what.into());
    }

    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The summary as aligned text.
    pub fn to_text(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        if let Value::Object(config) = &self.config {
            let line: Vec<String> = config.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect();
            rows.push(("config".into(), line.join(" ")));
        }
        for (k, v) in &self.results.0 {
            rows.push((k.replace('_', " "), human(v)));
        }
        let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        let mut out = format!("sockhub bench {}\n", self.scenario);
        for (k, v) in rows {
            out.push_str(&format!("  {k:<width$}  {v}\n"));
        }
        if self.problems.is_empty() {
            out.push_str("  no problems\n");
        }
        for p in &self.problems {
            out.push_str(&format!("  PROBLEM: {p}\n"));
        }
        out
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value for people: integers grouped by thousands, latencies as one line of percentiles.
fn human(v: &Value) -> String {
    match v {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(i), _) => group(i),
            (None, Some(f)) if f.abs() >= 100.0 => group(f.round() as u64),
            (None, Some(f)) => format!("{f:.2}"),
            _ => n.to_string(),
        },
        Value::Object(o) if o.contains_key("p99_us") => {
            let ms =
                |k: &str| o.get(k).and_then(Value::as_u64).map(|us| format!("{:.3} ms", us as f64 / 1000.0));
            format!(
                "p50 {}, p90 {}, p99 {}, p99.9 {}, max {} ({} samples)",
                ms("p50_us").unwrap_or_default(),
                ms("p90_us").unwrap_or_default(),
                ms("p99_us").unwrap_or_default(),
                ms("p999_us").unwrap_or_default(),
                ms("max_us").unwrap_or_default(),
                o.get("count").and_then(Value::as_u64).map(group).unwrap_or_default(),
            )
        }
        Value::Object(o) => o.iter().map(|(k, v)| format!("{k} {}", human(v))).collect::<Vec<_>>().join(", "),
        other => plain(other),
    }
}

/// `1234567` as `1 234 567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_in_json_and_text() {
        let mut r = Report::new("demo", &serde_json::json!({"clients": 3}));
        r.set("zeta", 1_234_567u64);
        r.set("alpha", 0.5);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.find("zeta").unwrap() < json.find("alpha").unwrap(), "{json}");
        let text = r.to_text();
        assert!(text.contains("1 234 567"), "{text}");
        assert!(text.contains("clients=3"), "{text}");
    }
}
