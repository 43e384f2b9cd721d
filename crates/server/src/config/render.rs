//! `sockhub config`: the effective configuration as TOML, each key preceded by its documentation
//! and environment variable, ready to be saved as a starting config file.

use std::fmt::Write as _;

use toml::{Table, Value};

use super::Config;

impl Config {
    /// The configuration as commented TOML.
    pub fn to_commented_toml(&self) -> String {
        let table = Table::try_from(self).expect("the configuration serializes");
        let defaults = Table::try_from(Config::default()).expect("the defaults serialize");
        let mut out = String::from("# sockhub effective configuration\n");
        for section in Config::SECTIONS {
            let values = table.get(section.name).and_then(Value::as_table);
            let default_values = defaults.get(section.name).and_then(Value::as_table);
            let _ = writeln!(out, "\n# {}\n[{}]", section.about, section.name);
            let mut nested = Vec::new();
            for (key, _) in section.keys {
                let env = format!("SOCKHUB_{}_{}", section.name, key).to_ascii_uppercase();
                let doc = section.doc(key).unwrap_or_default();
                let default = match default_values.and_then(|v| v.get(*key)) {
                    Some(value) => value.to_string(),
                    None => "unset".to_owned(),
                };
                let _ = writeln!(out, "# {doc} Default {default}. (env {env})");
                match values.and_then(|v| v.get(*key)) {
                    Some(Value::Array(items)) if items.iter().all(Value::is_table) && !items.is_empty() => {
                        nested.push((*key, items.clone()));
                        let _ = writeln!(out, "# ({key}: see [[{}.{key}]] below)", section.name);
                    }
                    Some(Value::String(url)) if *key == "url" || *key == "nats_url" => {
                        let _ = writeln!(out, "{key} = {}", Value::String(redact_url_list(url)));
                    }
                    Some(Value::String(_)) if SECRET_KEYS.contains(key) => {
                        let _ = writeln!(out, "{key} = \"***\"");
                    }
                    Some(value) => {
                        let _ = writeln!(out, "{key} = {value}");
                    }
                    None => {
                        let _ = writeln!(out, "# {key} = (not set)");
                    }
                }
            }
            for (key, items) in nested {
                for item in items {
                    let _ = writeln!(out, "[[{}.{key}]]", section.name);
                    if let Value::Table(t) = item {
                        for (k, v) in t {
                            let _ = writeln!(out, "{k} = {v}");
                        }
                    }
                }
            }
        }
        out
    }
}

/// Keys whose whole value is a secret, printed as `***`.
const SECRET_KEYS: &[&str] = &["downstream_token", "password"];

/// Each URL of a comma-separated list with its password redacted (see [`redact_password`]).
pub fn redact_url_list(list: &str) -> String {
    list.split(',').map(redact_password).collect::<Vec<_>>().join(",")
}

/// `text` (an error message from a library that was given `list`) with every password or
/// token of the URLs in `list` replaced by `***`.
pub fn scrub_url_secrets(text: &str, list: &str) -> String {
    let mut out = text.to_owned();
    for url in list.split(',') {
        let Some((_, rest)) = url.split_once("://") else { continue };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let Some(at) = rest[..authority_end].rfind('@') else { continue };
        let userinfo = &rest[..at];
        let secret = userinfo.split_once(':').map_or(userinfo, |(_, pw)| pw);
        if !secret.is_empty() {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// `mysql://user:secret@host/db` -> `mysql://user:***@host/db`, and `nats://token@host` ->
/// `nats://***@host` (NATS reads a user without a password as a token): the printed
/// configuration and the log may be pasted into a bug report. The userinfo ends at the last `@`
/// before the path, so a password containing `@` is hidden whole.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None if scheme.trim().eq_ignore_ascii_case("nats") || scheme.trim().eq_ignore_ascii_case("tls") => {
            format!("{scheme}://***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendering_is_a_config_file_that_loads_back_to_the_same_values() {
        let config = Config::default();
        let text = config.to_commented_toml();
        assert!(text.contains("# TCP port for chat"), "{text}");
        assert!(text.contains("SOCKHUB_CHAT_PORT"));
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn every_key_is_printed_with_its_documentation_and_default() {
        let text = Config::default().to_commented_toml();
        let lines: Vec<&str> = text.lines().collect();
        for section in Config::SECTIONS {
            for (key, _) in section.keys {
                let env = format!(
                    "(env SOCKHUB_{}_{})",
                    section.name.to_ascii_uppercase(),
                    key.to_ascii_uppercase()
                );
                let at = lines.iter().position(|l| l.starts_with("# ") && l.ends_with(&env));
                let at =
                    at.unwrap_or_else(|| panic!("[{}] {key} is not documented in\n{text}", section.name));
                let doc = section.doc(key).unwrap();
                assert!(
                    !doc.is_empty() && lines[at].starts_with(&format!("# {doc} Default ")),
                    "{}",
                    lines[at]
                );
                let value = lines[at + 1];
                assert!(
                    value.starts_with(&format!("{key} = ")) || value.starts_with(&format!("# {key} ")),
                    "[{}] {key}: {value}",
                    section.name
                );
            }
        }
        assert!(
            text.contains("# TCP port for chat (0 = any free port). Default 7001. (env SOCKHUB_CHAT_PORT)")
        );
        assert!(text.contains("Default unset. (env SOCKHUB_CHAT_TLS_PORT)"));
        assert!(text.contains("Default \"open\". (env SOCKHUB_CHAT_AUTH)"));
        assert!(text.contains("Default []. (env SOCKHUB_RELAY_KEEP)"));
    }

    #[test]
    fn arrays_of_tables_and_string_enums_load_back() {
        let mut config = Config::default();
        config.relay.keep = vec![super::super::KeepRule {
            name: "lab".into(),
            source: Some("lab-*".into()),
            payload_regex: None,
            json_field: Some("level".into()),
            json_equals: Some("debug".into()),
        }];
        config.relay.auth = super::super::RelayAuth::Tokens;
        let text = config.to_commented_toml();
        assert!(text.contains("[[relay.keep]]\n") && text.contains("name = \"lab\"\n"), "{text}");
        assert!(text.contains("auth = \"tokens\""), "{text}");
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn database_passwords_are_not_printed() {
        let mut config = Config::default();
        config.database.url = Some("mysql://root:hunter2@db.example:3306/sockhub".into());
        let text = config.to_commented_toml();
        assert!(!text.contains("hunter2"));
        assert!(text.contains("mysql://root:***@db.example:3306/sockhub"));
    }

    #[test]
    fn nats_credentials_and_tokens_are_not_printed() {
        let mut config = Config::default();
        config.cluster.nats_url =
            Some("nats://sock:p@ss@n1:4222, nats://s3cr3t-token@n2:4222,nats://n3".into());
        config.relay.downstream_token = Some(sockhub_proto::secret::Secret::new("sht_abcdef"));
        let text = config.to_commented_toml();
        for secret in ["p@ss", "s3cr3t-token", "sht_abcdef"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains(r#"nats_url = "nats://sock:***@n1:4222, nats://***@n2:4222,nats://n3""#),
            "{text}"
        );
        assert!(text.contains(r#"downstream_token = "***""#));
        assert_eq!(redact_password("postgres://u@h/db?x=a@b"), "postgres://u@h/db?x=a@b");
        assert_eq!(redact_password("mysql://u:pw@h/db"), "mysql://u:***@h/db");
        assert_eq!(
            scrub_url_secrets("cannot reach nats://a:b1g@n1 or s3cr3t", "nats://a:b1g@n1,nats://s3cr3t@n2"),
            "cannot reach nats://a:***@n1 or ***"
        );
    }
}
