//! Loading: defaults, then the file, then environment variables, then flags, into one TOML table
//! that is deserialized (and so type-checked) once at the end.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use super::Config;

/// A single `section.key = value` set from outside the file (environment or flag).
#[derive(Debug, Clone)]
pub struct Override {
    pub section: String,
    pub key: String,
    pub value: String,
    /// Where it came from, for error messages (`SOCKHUB_CHAT_PORT`, `--chat-port`).
    pub origin: String,
}

impl Override {
    pub fn new(section: &str, key: &str, value: impl Into<String>, origin: impl Into<String>) -> Self {
        Override { section: section.into(), key: key.into(), value: value.into(), origin: origin.into() }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not valid TOML: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("{origin}: `{section}` is not a table")]
    NotATable { origin: String, section: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("invalid configuration: {0}")]
    Value(#[from] super::InvalidValue),
}

/// Load the effective configuration. `env` is usually `std::env::vars()`; only variables named
/// `SOCKHUB_<SECTION>_<KEY>` for a known section are read, so `SOCKHUB_LOG` or
/// `SOCKHUB_TEST_*` are left alone.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[Override],
) -> Result<Config, ConfigError> {
    let defaults = Table::try_from(Config::default()).expect("the default configuration serializes");
    let mut table = match file {
        Some(path) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
            text.parse::<Table>().map_err(|source| ConfigError::Parse { path: shown, source })?
        }
        None => defaults.clone(),
    };
    let env_overrides = env.into_iter().filter_map(|(name, value)| from_env(&name, value));
    for o in env_overrides.chain(flags.iter().cloned()) {
        apply(&mut table, &defaults, &o, file.is_none())?;
    }
    let config = Config::deserialize(Value::Table(table)).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    config.validate()?;
    Ok(config)
}

fn from_env(name: &str, value: String) -> Option<Override> {
    let rest = name.strip_prefix("SOCKHUB_")?.to_ascii_lowercase();
    Config::SECTIONS.iter().find_map(|s| {
        let key = rest.strip_prefix(s.name)?.strip_prefix('_')?;
        (!key.is_empty()).then(|| Override::new(s.name, key, value.clone(), name))
    })
}

/// Set one key. Without a file, the built-in defaults leave some sections off (`[irc]`): setting
/// any other key of such a section turns it on, as adding the section to a file would.
fn apply(table: &mut Table, defaults: &Table, o: &Override, no_file: bool) -> Result<(), ConfigError> {
    let section = table.entry(o.section.clone()).or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(section) = section else {
        return Err(ConfigError::NotATable { origin: o.origin.clone(), section: o.section.clone() });
    };
    if no_file && o.key != "enabled" && section.get("enabled") == Some(&Value::Boolean(false)) {
        section.insert("enabled".into(), Value::Boolean(true));
    }
    let default = defaults.get(&o.section).and_then(|s| s.get(&o.key));
    section.insert(o.key.clone(), typed(default, &o.value));
    Ok(())
}

/// Give a raw string the type the key has: a string key takes the text as is; anything else is
/// read as a TOML value (`7100`, `true`, `[0, 5]`), falling back to a string.
fn typed(default: Option<&Value>, raw: &str) -> Value {
    if matches!(default, Some(Value::String(_))) {
        return Value::String(raw.to_owned());
    }
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IrcConfig;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn no_file_runs_everything_with_defaults() {
        let c = load(None, env(&[]), &[]).unwrap();
        assert_eq!(c, Config::default());
        assert!(c.chat.enabled);
    }

    #[test]
    fn irc_is_off_unless_asked_for() {
        assert!(!load(None, env(&[]), &[]).unwrap().irc.enabled, "off in the built-in defaults");
        let c = load(None, env(&[("SOCKHUB_IRC_PORT", "6697")]), &[]).unwrap();
        assert!(c.irc.enabled, "setting a key turns it on");
        assert_eq!(c.irc.port, 6697);
        let c = load(None, env(&[("SOCKHUB_IRC_ENABLED", "false")]), &[]).unwrap();
        assert!(!c.irc.enabled);
        let f = file("[chat]\n[irc]\nserver_name = \"irc.example.org\"\npassword = \"letmein\"\n");
        let c = load(Some(f.path()), env(&[]), &[]).unwrap();
        assert!(c.irc.enabled);
        assert_eq!(
            (c.irc.port, c.irc.server_name(), c.irc.password.as_deref()),
            (6667, "irc.example.org".into(), Some("letmein"))
        );
        let f = file("[irc]\n");
        let e = load(Some(f.path()), env(&[]), &[]).unwrap_err().to_string();
        assert!(e.contains("[irc] needs [chat]"), "{e}");
        let f = file("[chat]\n[irc]\nserver_name = \"a b\"\n");
        assert!(load(Some(f.path()), env(&[]), &[]).is_err());
        assert!(!IrcConfig::default().server_name().is_empty(), "the host name by default");
    }

    #[test]
    fn a_file_without_a_section_turns_it_off() {
        let f = file("[server]\nbind = \"0.0.0.0\"\n");
        let c = load(Some(f.path()), env(&[]), &[]).unwrap();
        assert!(!c.chat.enabled);
        assert_eq!(c.server.bind.to_string(), "0.0.0.0");
        let f = file("[chat]\nport = 0\n");
        let c = load(Some(f.path()), env(&[]), &[]).unwrap();
        assert!(c.chat.enabled);
        assert_eq!(c.chat.port, 0);
    }

    #[test]
    fn env_then_flags_override_the_file() {
        let f = file("[chat]\nport = 7100\n[server]\ndata_dir = \"from-file\"\n");
        let c = load(
            Some(f.path()),
            env(&[
                ("SOCKHUB_CHAT_PORT", "7200"),
                ("SOCKHUB_SERVER_DATA_DIR", "1234"),
                ("SOCKHUB_TEST_MYSQL_URL", "ignored"),
                ("SOCKHUB_LOG", "ignored"),
            ]),
            &[Override::new("chat", "port", "7300", "--chat-port")],
        )
        .unwrap();
        assert_eq!(c.chat.port, 7300);
        assert_eq!(c.server.data_dir, std::path::PathBuf::from("1234"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let f = file("[chat]\nprot = 1\n");
        let e = load(Some(f.path()), env(&[]), &[]).unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
        let e = load(None, env(&[("SOCKHUB_CHAT_PORT", "seventy")]), &[]).unwrap_err().to_string();
        assert!(e.contains("port") || e.contains("invalid"), "{e}");
        let e = load(None, env(&[("SOCKHUB_LIMITS_MAX_LINE_BYTES", "3")]), &[]).unwrap_err().to_string();
        assert!(e.contains("max_line_bytes"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let ok = [("SOCKHUB_WEB_TRUSTED_PROXIES", r#"["10.0.0.0/8", "::1"]"#)];
        let c = load(None, env(&ok), &[]).unwrap();
        assert_eq!(c.web.proxy_ranges().unwrap().len(), 2);
        let bad = [("SOCKHUB_WEB_TRUSTED_PROXIES", r#"["10.0.0.0/33"]"#)];
        let e = load(None, env(&bad), &[]).unwrap_err().to_string();
        assert!(e.contains("web.trusted_proxies") && e.contains("10.0.0.0/33"), "{e}");
    }

    #[test]
    fn a_cluster_needs_a_shared_database() {
        let nats = [("SOCKHUB_CLUSTER_NATS_URL", "nats://127.0.0.1:4222")];
        let e = load(None, env(&nats), &[]).unwrap_err().to_string();
        assert!(e.contains("[cluster] needs a database every node shares"), "{e}");
        let sqlite = [nats[0], ("SOCKHUB_DATABASE_URL", "sqlite:x.db")];
        assert!(load(None, env(&sqlite), &[]).is_err());
        let pg = [nats[0], ("SOCKHUB_DATABASE_URL", "postgres://db/sockhub")];
        let c = load(None, env(&pg), &[]).unwrap();
        assert!(c.cluster.enabled());
        assert_eq!((c.cluster.node_timeout_secs, c.cluster.heartbeat_ms), (10, 1000));
        let short = [
            pg[0],
            pg[1],
            ("SOCKHUB_CLUSTER_NODE_TIMEOUT_SECS", "1"),
            ("SOCKHUB_CLUSTER_HEARTBEAT_MS", "900"),
        ];
        assert!(load(None, env(&short), &[]).unwrap_err().to_string().contains("two heartbeats"));
        // Without the section, nothing changes.
        assert!(!load(None, env(&[]), &[]).unwrap().cluster.enabled());
    }

    #[test]
    fn every_key_is_documented() {
        let defaults = Table::try_from(Config::default()).unwrap();
        for (name, section) in &defaults {
            let doc = Config::SECTIONS.iter().find(|s| s.name == name);
            let doc = doc.unwrap_or_else(|| panic!("section [{name}] is not in Config::SECTIONS"));
            for key in section.as_table().unwrap().keys() {
                assert!(doc.keys.iter().any(|(k, _)| k == key), "[{name}] {key} has no entry in DOCS");
            }
        }
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        /// Text that is nearly a configuration: known sections and keys with any value.
        fn near_toml() -> impl Strategy<Value = String> {
            let section = prop_oneof![
                Just("server"),
                Just("limits"),
                Just("auth"),
                Just("chat"),
                Just("quiz"),
                Just("calc"),
                Just("relay"),
                Just("web"),
                Just("cluster"),
                Just("database"),
                Just("retention"),
                Just("logging"),
                Just("nope"),
            ];
            let key = prop_oneof![
                Just("port"),
                Just("bind"),
                Just("max_line_bytes"),
                Just("outbound_bytes"),
                Just("rate_per_sec"),
                Just("proxy_protocol"),
                Just("pause_secs"),
                Just("url"),
                Just("enabled"),
                Just("keep"),
                Just("max_connections_per_ip"),
                Just("login_timeout_secs"),
                Just("downstream"),
                Just("chat_days"),
                Just("keep_files"),
                Just("rotation"),
            ];
            let value = prop_oneof![
                Just("-1".to_owned()),
                Just("1e400".to_owned()),
                Just("nan".to_owned()),
                Just("inf".to_owned()),
                Just("18446744073709551616".to_owned()),
                Just("[1, \"a\", {}]".to_owned()),
                Just("{}".to_owned()),
                Just("\"10.0.0.0/99\"".to_owned()),
                Just("[\"::1\", \"nonsense\"]".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                any::<String>().prop_map(|s| format!("{s:?}")),
            ];
            proptest::collection::vec((section, key, value), 0..6).prop_map(|entries| {
                entries.into_iter().map(|(s, k, v)| format!("[{s}]\n{k} = {v}\n")).collect()
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// Whatever a configuration file or an environment variable says, loading gives a
            /// configuration or an error, never a panic.
            #[test]
            fn any_file_or_variable_loads_or_errs(
                text in prop_oneof![near_toml(), any::<String>()],
                var in "SOCKHUB_(LIMITS|SERVER|WEB|RELAY)_[A-Z_]{1,20}",
                value in any::<String>(),
            ) {
                let f = file(&text);
                let _ = load(Some(f.path()), env(&[]), &[]);
                let _ = load(None, env(&[(&var, &value)]), &[]);
            }
        }
    }
}
