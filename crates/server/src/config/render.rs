//! `sockhub config`: the effective configuration as TOML, each key preceded by its documentation
//! and environment variable, ready to be saved as a starting config file.

use std::fmt::Write as _;

use toml::{Table, Value};

use super::Config;

impl Config {
    /// The configuration as commented TOML.
    pub fn to_commented_toml(&self) -> String {
        let table = Table::try_from(self).expect("the configuration serializes");
        let mut out = String::from("# sockhub effective configuration\n");
        for section in Config::SECTIONS {
            let values = table.get(section.name).and_then(Value::as_table);
            let _ = writeln!(out, "\n# {}\n[{}]", section.about, section.name);
            let mut nested = Vec::new();
            for (key, doc) in section.keys {
                let env = format!("SOCKHUB_{}_{}", section.name, key).to_ascii_uppercase();
                let _ = writeln!(out, "# {doc} (env {env})");
                match values.and_then(|v| v.get(*key)) {
                    Some(Value::Array(items)) if items.iter().all(Value::is_table) && !items.is_empty() => {
                        nested.push((*key, items.clone()));
                        let _ = writeln!(out, "# ({key}: see [[{}.{key}]] below)", section.name);
                    }
                    Some(Value::String(url)) if *key == "url" || *key == "nats_url" => {
                        let _ = writeln!(out, "{key} = {}", Value::String(redact_password(url)));
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

/// `mysql://user:secret@host/db` -> `mysql://user:***@host/db`: the printed configuration may be
/// pasted into a bug report.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
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
    fn database_passwords_are_not_printed() {
        let mut config = Config::default();
        config.database.url = Some("mysql://root:hunter2@db.example:3306/sockhub".into());
        let text = config.to_commented_toml();
        assert!(!text.contains("hunter2"));
        assert!(text.contains("mysql://root:***@db.example:3306/sockhub"));
    }
}
