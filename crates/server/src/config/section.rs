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
