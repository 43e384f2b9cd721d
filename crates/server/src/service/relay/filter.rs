//! Keep rules: which records a node stores for itself instead of forwarding.
//!
//! Rules come from `[[relay.keep]]` and are compiled once at start; a bad rule stops the start
//! with an error naming it (bad regex, bad glob, `json_equals` without `json_field`, a rule
//! with no condition, a name used twice). A rule matches when *every* condition it sets holds;
//! a record is kept by the first rule that matches, and forwarded when none does.
//!
//! Matching runs in each connection's task (not in the single ingest task), so it spreads over
//! the worker threads. The payload is parsed as JSON only when a rule needs a field and the
//! payload looks like an object.

use globset::{Glob, GlobMatcher};
use regex::Regex;
use sockhub_store::RELAY_RULE_MAX_CHARS;

use crate::config::KeepRule;

/// Why the rules could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("relay.keep rule {name:?}: {problem}")]
    Bad { name: String, problem: String },
    #[error("relay.keep: a rule has an empty name")]
    NoName,
    #[error("relay.keep: two rules are named {0:?}")]
    Duplicate(String),
}

/// A source glob that does not compile; the text names the pattern.
#[derive(Debug, thiserror::Error)]
#[error("bad source glob {glob:?}: {error}")]
pub struct BadGlob {
    pub glob: String,
    #[source]
    pub error: globset::Error,
}

/// Compiles a glob over source names (`lab-*`, `dev?`, `sensor-[0-9]*`), as keep rules and
/// device tokens use them; the error names the pattern.
pub fn source_glob(glob: &str) -> Result<GlobMatcher, BadGlob> {
    Glob::new(glob).map(|g| g.compile_matcher()).map_err(|error| BadGlob { glob: glob.to_owned(), error })
}

/// One compiled rule.
#[derive(Debug)]
struct Compiled {
    name: std::sync::Arc<str>,
    source: Option<GlobMatcher>,
    payload: Option<Regex>,
    /// Path into the JSON object, and the value wanted (as text), if any.
    field: Option<(Vec<String>, Option<String>)>,
}

/// The compiled keep rules of a node.
#[derive(Debug, Default)]
pub struct KeepRules {
    rules: Vec<Compiled>,
}

impl KeepRules {
    /// Compile the configured rules.
    pub fn compile(rules: &[KeepRule]) -> Result<KeepRules, RuleError> {
        let mut out = Vec::with_capacity(rules.len());
        for r in rules {
            let name = r.name.trim();
            if name.is_empty() {
                return Err(RuleError::NoName);
            }
            let bad = |problem: String| RuleError::Bad { name: name.to_owned(), problem };
            if name.chars().count() > RELAY_RULE_MAX_CHARS {
                return Err(bad(format!("the name is longer than {RELAY_RULE_MAX_CHARS} characters")));
            }
            if out.iter().any(|c: &Compiled| &*c.name == name) {
                return Err(RuleError::Duplicate(name.to_owned()));
            }
            let source = match &r.source {
                Some(g) => Some(source_glob(g).map_err(|e| bad(e.to_string()))?),
                None => None,
            };
            let payload = match &r.payload_regex {
                Some(re) => Some(Regex::new(re).map_err(|e| bad(format!("bad payload_regex: {e}")))?),
                None => None,
            };
            let field = match (&r.json_field, &r.json_equals) {
                (Some(f), eq) => {
                    if f.trim().is_empty() || f.split('.').any(str::is_empty) {
                        return Err(bad(format!("bad json_field {f:?}")));
                    }
                    Some((f.split('.').map(str::to_owned).collect(), eq.clone()))
                }
                (None, Some(_)) => return Err(bad("json_equals needs json_field".into())),
                (None, None) => None,
            };
            if source.is_none() && payload.is_none() && field.is_none() {
                return Err(bad("it sets no condition (source, payload_regex or json_field)".into()));
            }
            out.push(Compiled { name: name.into(), source, payload, field });
        }
        Ok(KeepRules { rules: out })
    }

    /// No rules: everything is forwarded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The name of the first rule that keeps this record, if any.
    pub fn matching(&self, source: &str, payload: &str) -> Option<&std::sync::Arc<str>> {
        let mut json: Option<Option<serde_json::Value>> = None;
        self.rules.iter().find_map(|r| {
            if r.source.as_ref().is_some_and(|g| !g.is_match(source)) {
                return None;
            }
            if r.payload.as_ref().is_some_and(|re| !re.is_match(payload)) {
                return None;
            }
            if let Some((path, want)) = &r.field {
                let doc = json.get_or_insert_with(|| {
                    payload
                        .trim_start()
                        .starts_with('{')
                        .then(|| serde_json::from_str(payload).ok())
                        .flatten()
                });
                let value = path.iter().try_fold(doc.as_ref()?, |v, key| v.get(key))?;
                if let Some(want) = want {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if &text != want {
                        return None;
                    }
                }
            }
            Some(&r.name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str) -> KeepRule {
        KeepRule { name: name.into(), source: None, payload_regex: None, json_field: None, json_equals: None }
    }

    fn rules() -> KeepRules {
        KeepRules::compile(&[
            KeepRule { payload_regex: Some(r"\bERROR\b".into()), ..rule("errors") },
            KeepRule { source: Some("lab-*".into()), ..rule("lab") },
            KeepRule {
                json_field: Some("level".into()),
                json_equals: Some("alarm".into()),
                ..rule("alarms")
            },
            KeepRule { json_field: Some("a.b".into()), json_equals: Some("5".into()), ..rule("nested") },
        ])
        .unwrap()
    }

    #[test]
    fn each_kind_of_rule_matches() {
        let r = rules();
        assert_eq!(r.matching("dev1", "disk ERROR on /").map(|n| &**n), Some("errors"));
        assert_eq!(r.matching("dev1", "ERRORS are fine"), None);
        assert_eq!(r.matching("lab-7", "hello").map(|n| &**n), Some("lab"));
        assert_eq!(r.matching("dev1", r#"{"level":"alarm","t":1}"#).map(|n| &**n), Some("alarms"));
        assert_eq!(r.matching("dev1", r#"{"level":"info"}"#), None);
        assert_eq!(r.matching("dev1", r#"{"a":{"b":5}}"#).map(|n| &**n), Some("nested"));
        assert_eq!(r.matching("dev1", "not json level alarm"), None);
        assert_eq!(r.matching("dev1", "{broken"), None);
        assert_eq!(r.matching("센서", "정상"), None);
    }

    #[test]
    fn all_conditions_of_a_rule_must_hold() {
        let r = KeepRules::compile(&[KeepRule {
            source: Some("dev*".into()),
            payload_regex: Some("x".into()),
            ..rule("both")
        }])
        .unwrap();
        assert!(r.matching("dev1", "x").is_some());
        assert!(r.matching("dev1", "y").is_none());
        assert!(r.matching("lab", "x").is_none());
    }

    #[test]
    fn errors_name_the_rule() {
        let err = |rules: &[KeepRule]| KeepRules::compile(rules).unwrap_err().to_string();
        let e = err(&[KeepRule { payload_regex: Some("(".into()), ..rule("bad-re") }]);
        assert!(e.contains("bad-re") && e.contains("payload_regex"), "{e}");
        let e = err(&[KeepRule { source: Some("[".into()), ..rule("bad-glob") }]);
        assert!(e.contains("bad-glob") && e.contains("glob"), "{e}");
        let e = err(&[KeepRule { json_equals: Some("x".into()), ..rule("half") }]);
        assert!(e.contains("half") && e.contains("json_field"), "{e}");
        let e = err(&[
            KeepRule { source: Some("a".into()), ..rule("twice") },
            KeepRule { source: Some("b".into()), ..rule("twice") },
        ]);
        assert!(e.contains("twice"), "{e}");
        let e = err(&[rule("empty")]);
        assert!(e.contains("empty") && e.contains("no condition"), "{e}");
    }
}
