//! sockhub's translations: every sentence a person reads, in every language sockhub speaks.
//!
//! The sentences live in Project Fluent files, one per language (`locales/en.ftl`,
//! `locales/ko.ftl`), embedded in the binary. Code never spells a sentence; it names a message
//! and its arguments:
//!
//! ```
//! use sockhub_i18n::{Lang, msg, t};
//!
//! let joined = msg!("chat-joined", name = "민수", online = 3);
//! assert_eq!(joined.render(Lang::En), "[민수] joined (3 online)");
//! assert_eq!(joined.render(Lang::Ko), "[민수]접속 (현재 3명)");
//! // `t!` renders at once, in the language of the current scope (English outside any scope).
//! assert_eq!(t!("chat-prompt-name"), "* Your name?");
//! let ko = Lang::Ko.scope(|| t!("chat-prompt-name"));
//! assert_eq!(ko, "* 이름을 입력하세요.");
//! ```
//!
//! A [`Msg`] is rendered *late*: it is stored in an event as an id with arguments and only
//! becomes text when the event is encoded, in the language of the server that sends it. The
//! language is not a process-wide setting (one process may run several servers, each in its own
//! language): it is set for the duration of one synchronous call with [`Lang::scope`], and
//! [`Lang::current`] reads it. The server sets it around each encoding of a frame; a client sets
//! it once around its run.
//!
//! Adding a message: add it to `locales/en.ftl` and `locales/ko.ftl` with the same variables,
//! then use it with [`msg!`] or [`t!`]. The tests of this crate fail when a message is missing in
//! one language, when the two disagree on variables, or when code names a message that does not
//! exist.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU8, Ordering};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unic_langid::LanguageIdentifier;

/// The English messages (the reference: every other language has exactly these ids).
pub const EN_FTL: &str = include_str!("../locales/en.ftl");
/// The Korean messages.
pub const KO_FTL: &str = include_str!("../locales/ko.ftl");

/// A language sockhub speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Korean.
    Ko,
}

thread_local! {
    static CURRENT: Cell<Option<Lang>> = const { Cell::new(None) };
}

/// The language outside any scope: English unless a program that speaks one language for its
/// whole life (a terminal client) sets another with [`Lang::set_default`].
static DEFAULT: AtomicU8 = AtomicU8::new(Lang::En as u8);

impl Lang {
    /// Every language, in order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// The language's code: `en`, `ko`.
    pub const fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    /// The Fluent source of this language.
    pub const fn source(self) -> &'static str {
        match self {
            Lang::En => EN_FTL,
            Lang::Ko => KO_FTL,
        }
    }

    /// The language of a locale name: `ko`, `ko_KR.UTF-8`, `ko-KR` → Korean; `en_US`, `C`,
    /// `POSIX` → English; anything else → `None`.
    pub fn from_locale(locale: &str) -> Option<Lang> {
        let lower = locale.trim().to_ascii_lowercase();
        let primary = lower.split(['_', '-', '.', '@']).next().unwrap_or("");
        match primary {
            "ko" => Some(Lang::Ko),
            "en" | "c" | "posix" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language of the environment's locale, as the C library picks it: the first of
    /// `LC_ALL`, `LC_MESSAGES` and `LANG` that is set and not empty; English when that is not a
    /// language sockhub speaks.
    pub fn from_env() -> Lang {
        Self::from_env_vars(|key| std::env::var(key).ok())
    }

    /// [`Lang::from_env`] with the variables looked up by `get` (for tests).
    pub fn from_env_vars(get: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|key| get(key).filter(|v| !v.is_empty()))
            .next()
            .and_then(|v| Lang::from_locale(&v))
            .unwrap_or_default()
    }

    /// Run `f` with `self` as the [current](Lang::current) language of this thread, then restore
    /// the previous one (also when `f` panics). `f` is synchronous, so the language never leaks
    /// into other tasks that share the thread.
    pub fn scope<R>(self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Lang>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(self))));
        f()
    }

    /// The language of the innermost [`Lang::scope`] on this thread; outside any, the
    /// [default](Lang::set_default).
    pub fn current() -> Lang {
        CURRENT.with(Cell::get).unwrap_or_else(Lang::default_lang)
    }

    /// Make `self` the language outside any scope, for the whole process. Only for programs
    /// that speak one language (a terminal client, a command's report): a server sets its
    /// language per connection with [`Lang::scope`] and never calls this, since one process may
    /// run servers in different languages.
    pub fn set_default(self) {
        DEFAULT.store(self as u8, Ordering::Relaxed);
    }

    fn default_lang() -> Lang {
        match DEFAULT.load(Ordering::Relaxed) {
            1 => Lang::Ko,
            _ => Lang::En,
        }
    }

    /// Every message of this language with its variables left as `{$name}` placeholders (the web
    /// page fills them itself), by id.
    pub fn catalog(self) -> BTreeMap<&'static str, String> {
        let bundle = bundle(self);
        ids(self.source())
            .into_iter()
            .filter_map(|id| {
                let pattern = bundle.get_message(id)?.value()?;
                let mut errors = Vec::new();
                Some((id, bundle.format_pattern(pattern, None, &mut errors).into_owned()))
            })
            .collect()
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A language code that sockhub does not speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLang(pub String);

impl fmt::Display for UnknownLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown language {:?} (expected \"en\" or \"ko\")", self.0)
    }
}

impl std::error::Error for UnknownLang {}

impl FromStr for Lang {
    type Err = UnknownLang;

    /// `en` or `ko` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Lang::En),
            "ko" => Ok(Lang::Ko),
            _ => Err(UnknownLang(s.to_owned())),
        }
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The ids of the messages in a Fluent source, in file order.
fn ids(source: &'static str) -> Vec<&'static str> {
    source
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim()))
        .collect()
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> = LazyLock::new(|| Lang::ALL.map(load));

fn load(lang: Lang) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.code().parse().expect("a valid language identifier");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Terminals show the Unicode isolation marks Fluent puts around arguments as garbage.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(lang.source().to_owned())
        .unwrap_or_else(|(_, errors)| panic!("locales/{}.ftl does not parse: {errors:?}", lang.code()));
    bundle.add_resource(resource).unwrap_or_else(|errors| panic!("locales/{}.ftl: {errors:?}", lang.code()));
    bundle
}

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    &BUNDLES[lang as usize]
}

/// The message `id`, which takes no variables, in `lang`; `None` when there is no such message.
/// For ids made at run time (`cli-col-{column}`); code that names a message uses [`msg!`].
pub fn lookup(lang: Lang, id: &str) -> Option<String> {
    let bundle = bundle(lang);
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, None, &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// Whether `id` is a message of every language.
pub fn exists(id: &str) -> bool {
    Lang::ALL.iter().all(|&l| bundle(l).has_message(id))
}

/// One argument of a message.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Text, inserted as is.
    Str(Cow<'static, str>),
    /// A whole number (Fluent picks plural forms by it).
    Int(i64),
    /// Another message, rendered in the same language.
    Msg(Box<Msg>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Str(Cow::Owned(s.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Str(Cow::Owned(s))
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Str(Cow::Owned(s.clone()))
    }
}

impl From<Cow<'static, str>> for Arg {
    fn from(s: Cow<'static, str>) -> Self {
        Arg::Str(s)
    }
}

impl From<Msg> for Arg {
    fn from(m: Msg) -> Self {
        Arg::Msg(Box::new(m))
    }
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
            fn from(n: $t) -> Self {
                Arg::Int(n as i64)
            }
        }
    )*};
}
int_args!(i32, i64, u8, u16, u32, u64, usize);

/// Something to say to a person: a message id with its arguments, rendered when it is shown and
/// in the language of that moment, or text that needs no translation (a user's own words, or what
/// another peer sent).
#[derive(Debug, Clone)]
pub enum Msg {
    /// Text shown as is.
    Text(Cow<'static, str>),
    /// A Fluent message.
    Id {
        /// The message id (`chat-joined`).
        id: &'static str,
        /// Its variables.
        args: Vec<(&'static str, Arg)>,
    },
}

impl Msg {
    /// The message `id` with `args`. [`msg!`] is shorter.
    pub fn new(id: &'static str, args: Vec<(&'static str, Arg)>) -> Msg {
        Msg::Id { id, args }
    }

    /// Text that needs no translation.
    pub fn text(s: impl Into<Cow<'static, str>>) -> Msg {
        Msg::Text(s.into())
    }

    /// This message in `lang`. A message id that does not exist is shown as the id itself (the
    /// tests make sure none is used).
    pub fn render(&self, lang: Lang) -> String {
        match self {
            Msg::Text(s) => s.clone().into_owned(),
            Msg::Id { id, args } => {
                let bundle = bundle(lang);
                let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                    return (*id).to_owned();
                };
                let mut fluent_args = FluentArgs::with_capacity(args.len());
                for (key, arg) in args {
                    let value = match arg {
                        Arg::Str(s) => FluentValue::from(s.as_ref()),
                        Arg::Int(n) => FluentValue::from(*n),
                        Arg::Msg(m) => FluentValue::from(m.render(lang)),
                    };
                    fluent_args.set(*key, value);
                }
                let mut errors = Vec::new();
                bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned()
            }
        }
    }
}

/// Questions about the text, in the current language (as [`Display`](fmt::Display) shows it).
impl Msg {
    /// Whether the text contains `pattern`.
    pub fn contains(&self, pattern: &str) -> bool {
        self.to_string().contains(pattern)
    }

    /// Whether the text starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.to_string().starts_with(prefix)
    }

    /// The length of the text in bytes.
    pub fn len(&self) -> usize {
        self.to_string().len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.to_string().is_empty()
    }
}

impl fmt::Display for Msg {
    /// The message in the [current](Lang::current) language.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Text(s) => f.write_str(s),
            Msg::Id { .. } => f.write_str(&self.render(Lang::current())),
        }
    }
}

/// Two messages are equal when they say the same thing in the current language.
impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        match (self, other) {
            (Msg::Text(a), Msg::Text(b)) => a == b,
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl Eq for Msg {}

impl PartialEq<str> for Msg {
    fn eq(&self, other: &str) -> bool {
        let text = self.to_string();
        text.as_str() == other
    }
}

impl PartialEq<&str> for Msg {
    fn eq(&self, other: &&str) -> bool {
        let text = self.to_string();
        text.as_str() == *other
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Self {
        Msg::Text(Cow::Owned(s.to_owned()))
    }
}

impl From<String> for Msg {
    fn from(s: String) -> Self {
        Msg::Text(Cow::Owned(s))
    }
}

impl From<&String> for Msg {
    fn from(s: &String) -> Self {
        Msg::Text(Cow::Owned(s.clone()))
    }
}

impl Default for Msg {
    fn default() -> Self {
        Msg::Text(Cow::Borrowed(""))
    }
}

/// Serialized as the text in the current language.
impl Serialize for Msg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Msg::Text(t) => s.serialize_str(t),
            Msg::Id { .. } => s.serialize_str(&self.to_string()),
        }
    }
}

/// What a peer sent is text: it is shown as it came.
impl<'de> Deserialize<'de> for Msg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Msg::from)
    }
}

/// A [`Msg`]: `msg!("chat-joined", name = name, online = n)`. Rendered later, in the language of
/// the moment it is shown.
#[macro_export]
macro_rules! msg {
    ($id:literal $(, $key:ident = $value:expr)* $(,)?) => {
        $crate::Msg::new($id, vec![$((stringify!($key), $crate::Arg::from($value))),*])
    };
}

/// A message rendered now, in the [current](Lang::current) language, as a `String`:
/// `t!("chat-joined", name = name, online = n)`.
#[macro_export]
macro_rules! t {
    ($($args:tt)*) => {
        $crate::msg!($($args)*).render($crate::Lang::current())
    };
}

#[cfg(test)]
mod tests;
