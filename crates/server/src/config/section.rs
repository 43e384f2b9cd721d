//! How a configuration section is declared: [`section!`] takes a struct whose every field carries
//! its documentation (`///`) and its default (`= value`), and generates the struct (serde, with
//! every key optional and unknown keys refused), its `Default`, and its entry for `sockhub config`
//! ([`SectionDoc`]). A key is therefore written once: adding one is one field here plus its row
//! in docs/operations.md; `sockhub config` prints the doc comment followed by the default.

/// A key's documentation: `(key, doc)`. The doc is the field's doc comment, its lines joined.
pub type KeyDoc = (&'static str, &'static str);

/// A section's name (`[chat]`), what it is for, and its keys, in the order of its fields.
#[derive(Debug, Clone, Copy)]
pub struct SectionDoc {
    pub name: &'static str,
    pub about: &'static str,
    pub keys: &'static [KeyDoc],
}

impl SectionDoc {
    /// The documentation of `key`, trimmed to one line (`None` for an unknown key).
    pub fn doc(&self, key: &str) -> Option<String> {
        let (_, doc) = self.keys.iter().find(|(k, _)| *k == key)?;
        Some(doc.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// Declare a configuration section:
///
/// ```ignore
/// section! {
///     /// `[chat]`: the chat service.
///     #[section(chat, about = "The chat service.")]
///     pub struct ChatConfig {
///         /// TCP port for chat (0 = any free port).
///         pub port: u16 = 7001,
///         /// "open" or "accounts" (a string enum: any `Deserialize` type works).
///         pub auth: Admission = Admission::Open,
///         /// An array of tables, `[[chat.room]]`.
///         pub room: Vec<RoomConfig> = Vec::new(),
///         /// Unset unless given.
///         #[serde(skip_serializing_if = "Option::is_none")]
///         pub tls_port: Option<u16> = None,
///     }
/// }
/// ```
///
/// Every field needs a doc comment (the macro does not match without one); `#[serde(...)]`
/// attributes after it are kept.
macro_rules! section {
    (
        $(#[doc = $sdoc:literal])*
        #[section($section:ident, about = $about:literal)]
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[serde($($serde:tt)*)])*
                pub $field:ident: $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[doc = $doc])+
                $(#[serde($($serde)*)])*
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $name {
            /// This section's documentation, for `sockhub config`.
            pub const DOC: $crate::config::SectionDoc = $crate::config::SectionDoc {
                name: stringify!($section),
                about: $about,
                keys: &[$((stringify!($field), concat!($($doc),+)),)*],
            };
        }
    };
}
pub(crate) use section;

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    /// A string enum, as `auth = "open"` keys are.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Mode {
        Open,
        Closed,
    }

    /// One table of an array of tables, as `[[relay.keep]]` is.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Room {
        pub name: String,
        #[serde(default)]
        pub topic: String,
    }

    section! {
        /// A section with every kind of key.
        #[section(demo, about = "A demo section.")]
        pub struct DemoConfig {
            /// Who may enter:
            /// "open" or "closed".
            pub mode: Mode = Mode::Open,
            /// The rooms, as [[demo.room]] tables.
            pub room: Vec<Room> = vec![Room { name: "lobby".into(), topic: String::new() }],
            /// Unset unless given.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub limit: Option<u32> = None,
        }
    }

    #[test]
    fn one_declaration_gives_the_struct_its_defaults_and_its_documentation() {
        let d = DemoConfig::default();
        assert_eq!((d.mode, d.room.len(), d.limit), (Mode::Open, 1, None));
        assert_eq!((DemoConfig::DOC.name, DemoConfig::DOC.about), ("demo", "A demo section."));
        let keys: Vec<&str> = DemoConfig::DOC.keys.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["mode", "room", "limit"]);
        assert_eq!(DemoConfig::DOC.doc("mode").unwrap(), "Who may enter: \"open\" or \"closed\".");

        let text =
            "mode = \"closed\"\nlimit = 3\n[[room]]\nname = \"a\"\n[[room]]\nname = \"b\"\ntopic = \"t\"\n";
        let c: DemoConfig = toml::from_str(text).unwrap();
        assert_eq!((c.mode, c.limit), (Mode::Closed, Some(3)));
        assert_eq!(c.room.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let back: DemoConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let missing: DemoConfig = toml::from_str("").unwrap();
        assert_eq!(missing, DemoConfig::default(), "every key is optional");
        assert!(toml::from_str::<DemoConfig>("mood = \"open\"").is_err(), "unknown keys are refused");
        assert!(toml::from_str::<DemoConfig>("mode = \"ajar\"").is_err());
    }
}
