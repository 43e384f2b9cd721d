//! The translations are complete and the code only names messages that exist, with the
//! variables they need.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_syntax::ast;

use super::*;

type Vars = BTreeSet<String>;

/// Every message of a Fluent source with the variables it uses (in its value, its selectors and
/// every variant).
fn messages(source: &str) -> BTreeMap<String, Vars> {
    let resource =
        fluent_syntax::parser::parse(source).unwrap_or_else(|(_, e)| panic!("parse errors: {e:?}"));
    let mut out = BTreeMap::new();
    for entry in resource.body {
        match entry {
            ast::Entry::Message(m) => {
                let mut vars = Vars::new();
                if let Some(p) = &m.value {
                    pattern_vars(p, &mut vars);
                }
                assert!(m.value.is_some(), "message {} has no value", m.id.name);
                assert!(out.insert(m.id.name.to_owned(), vars).is_none(), "{} is defined twice", m.id.name);
            }
            ast::Entry::Junk { content } => panic!("junk in a Fluent file: {content}"),
            _ => {}
        }
    }
    out
}

fn pattern_vars(p: &ast::Pattern<&str>, vars: &mut Vars) {
    for element in &p.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(e: &ast::Expression<&str>, vars: &mut Vars) {
    match e {
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
        ast::Expression::Inline(i) => inline_vars(i, vars),
    }
}

fn inline_vars(i: &ast::InlineExpression<&str>, vars: &mut Vars) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_vars(a, vars);
            }
        }
        _ => {}
    }
}

#[test]
fn every_language_has_every_message_with_the_same_variables() {
    let en = messages(EN_FTL);
    assert!(en.len() > 50, "only {} English messages", en.len());
    for lang in Lang::ALL {
        let other = messages(lang.source());
        for (id, vars) in &en {
            let Some(theirs) = other.get(id) else { panic!("{id} is missing from {lang}.ftl") };
            assert_eq!(theirs, vars, "{id}: {lang}.ftl uses other variables than en.ftl");
        }
        for id in other.keys() {
            assert!(en.contains_key(id), "{id} is in {lang}.ftl but not in en.ftl");
        }
        // The id list the catalog uses agrees with the parser.
        assert_eq!(ids(lang.source()).len(), other.len(), "{lang}.ftl: a message starts oddly");
    }
}

#[test]
fn every_message_renders_without_errors_in_every_language() {
    for lang in Lang::ALL {
        let bundle = bundle(lang);
        for (id, vars) in messages(lang.source()) {
            let mut args = FluentArgs::new();
            for v in &vars {
                args.set(v.as_str(), FluentValue::from(2));
            }
            let pattern = bundle.get_message(&id).and_then(|m| m.value()).unwrap();
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
            assert!(errors.is_empty(), "{lang} {id}: {errors:?}");
            assert!(!text.trim().is_empty(), "{lang} {id} is empty");
        }
    }
}

#[test]
fn korean_is_korean() {
    let en = messages(EN_FTL);
    let hangul = |s: &str| s.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c));
    let catalog = Lang::Ko.catalog();
    let untranslated: Vec<_> = catalog.iter().filter(|(_, text)| !hangul(text)).map(|(id, _)| *id).collect();
    // A few messages are the same in both languages (a unit, a bare placeholder).
    assert!(untranslated.len() * 10 < en.len(), "not translated: {untranslated:?}");
}

#[test]
fn rendering() {
    let m = msg!("chat-joined", name = "민수", online = 3);
    assert_eq!(m.render(Lang::En), "[민수] joined (3 online)");
    assert_eq!(m.render(Lang::Ko), "[민수]접속 (현재 3명)");
    assert_eq!(Lang::current(), Lang::En);
    assert_eq!(Lang::Ko.scope(|| m.to_string()), "[민수]접속 (현재 3명)");
    assert_eq!(Lang::Ko.scope(|| Lang::En.scope(|| t!("chat-prompt-name"))), "* Your name?");
    assert_eq!(Lang::current(), Lang::En, "a scope restores the language");
    assert_eq!(Lang::Ko.scope(|| serde_json::to_string(&m).unwrap()), "\"[민수]접속 (현재 3명)\"");
    let text: Msg = serde_json::from_str("\"from a peer\"").unwrap();
    assert_eq!(Lang::Ko.scope(|| text.to_string()), "from a peer");
    // A message inside a message follows the outer one's language.
    let nested = msg!("error-usage", usage = msg!("chat-prompt-name"));
    assert!(nested.render(Lang::Ko).contains("이름을 입력하세요"));
}

#[test]
fn the_catalog_leaves_placeholders_for_the_page() {
    let ko = Lang::Ko.catalog();
    assert_eq!(ko["chat-joined"], "[{$name}]접속 (현재 {$online}명)");
    assert_eq!(Lang::En.catalog().len(), ko.len());
}

#[test]
fn languages_from_names_and_locales() {
    assert_eq!("ko".parse::<Lang>(), Ok(Lang::Ko));
    assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::En));
    assert!("fr".parse::<Lang>().is_err());
    for (locale, lang) in
        [("ko_KR.UTF-8", Some(Lang::Ko)), ("ko-KR", Some(Lang::Ko)), ("en_US.UTF-8", Some(Lang::En))]
    {
        assert_eq!(Lang::from_locale(locale), lang, "{locale}");
    }
    assert_eq!(Lang::from_locale("C.UTF-8"), Some(Lang::En));
    assert_eq!(Lang::from_locale("fr_FR"), None);
    let env = |vars: &'static [(&'static str, &'static str)]| {
        Lang::from_env_vars(|k| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| (*v).to_owned()))
    };
    assert_eq!(env(&[("LANG", "ko_KR.UTF-8")]), Lang::Ko);
    assert_eq!(env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "ko_KR.UTF-8")]), Lang::En);
    assert_eq!(env(&[("LC_ALL", ""), ("LC_MESSAGES", "ko_KR.UTF-8"), ("LANG", "en_US")]), Lang::Ko);
    assert_eq!(env(&[("LANG", "fr_FR.UTF-8")]), Lang::En);
    assert_eq!(env(&[]), Lang::En);
}

/// Where the workspace's code is.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !matches!(path.file_name().and_then(|n| n.to_str()), Some("target" | "node_modules" | ".git"))
            {
                files(&path, ext, out);
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| ext.contains(&e)) {
            out.push(path);
        }
    }
}

/// Each use of `msg!(`/`t!(` in `code`: the id and the names of the variables it passes.
fn uses(code: &str) -> Vec<(String, Vars)> {
    let mut out = Vec::new();
    for start in ["msg!(\"", "t!(\""] {
        for (at, _) in code.match_indices(start) {
            // `t!(` must not be the tail of another macro's name (`format!(` ends in `t!(`).
            if start == "t!(\"" && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let parts = macro_args(&code[at + start.len() - 2..]);
            let id = parts[0].trim().trim_matches('"').to_owned();
            let vars = parts[1..]
                .iter()
                .filter_map(|p| p.split_once('=').map(|(k, _)| k.trim().to_owned()))
                .filter(|k| !k.is_empty())
                .collect();
            out.push((id, vars));
        }
    }
    out
}

/// The characters of `s` outside string literals, each with its byte offset and the bracket depth
/// it sits at (a closing bracket at the depth of what it closes).
fn outside_strings(s: &str) -> Vec<(usize, char, usize)> {
    let (mut out, mut depth, mut in_str, mut escaped) = (Vec::new(), 0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push((i, c, depth));
    }
    out
}

/// The arguments of the macro call whose `(` opens `s`, split at its top-level commas.
fn macro_args(s: &str) -> Vec<&str> {
    let chars = outside_strings(s);
    let end =
        chars.iter().skip(1).find(|&&(_, c, depth)| c == ')' && depth == 0).map_or(s.len(), |&(i, ..)| i);
    let mut parts = Vec::new();
    let mut from = 1;
    for &(i, c, depth) in &chars {
        if i >= end {
            break;
        }
        if c == ',' && depth == 1 {
            parts.push(&s[from..i]);
            from = i + 1;
        }
    }
    parts.push(&s[from..end]);
    parts
}

#[test]
fn the_code_names_only_messages_that_exist_with_all_their_variables() {
    let en = messages(EN_FTL);
    let root = workspace();
    let mut sources = Vec::new();
    for dir in ["crates", "src", "tests"] {
        files(&root.join(dir), &["rs"], &mut sources);
    }
    let mut used = 0;
    for path in &sources {
        if path.ends_with("i18n/src/tests.rs") || path.ends_with("i18n/src/lib.rs") {
            continue;
        }
        let code = std::fs::read_to_string(path).unwrap();
        for (id, vars) in uses(&code) {
            used += 1;
            let Some(needed) = en.get(&id) else { panic!("{}: no message {id:?}", path.display()) };
            assert_eq!(&vars, needed, "{}: {id} takes {needed:?}, the code passes {vars:?}", path.display());
        }
    }
    assert!(used > 50, "found only {used} uses of messages in the code");
}

#[test]
fn the_web_page_names_only_messages_that_exist() {
    let en = messages(EN_FTL);
    let mut pages = Vec::new();
    files(&workspace().join("crates/web/static"), &["html", "js"], &mut pages);
    let mut used = 0;
    for path in pages {
        let code = std::fs::read_to_string(&path).unwrap();
        for start in ["data-i18n=\"", "data-i18n-placeholder=\"", "data-i18n-title=\"", "tr(\""] {
            for (at, _) in code.match_indices(start) {
                let rest = &code[at + start.len()..];
                let id = &rest[..rest.find('"').unwrap()];
                used += 1;
                assert!(en.contains_key(id), "{}: no message {id:?}", path.display());
            }
        }
        // Ids the page picks at run time (`tr(ok ? "web-a" : "web-b")`, tables of ids) are
        // string literals of their own.
        for (at, _) in code.match_indices("\"web-") {
            let rest = &code[at + 1..];
            let id = &rest[..rest.find('"').unwrap()];
            used += 1;
            assert!(en.contains_key(id), "{}: no message {id:?}", path.display());
        }
    }
    assert!(used > 200, "the page uses only {used} messages");
}

#[test]
fn the_scanner_finds_ids_and_variables() {
    let code = r#"let a = msg!("x-y", name = f(a, b), n = v[1]); format!("{}", 1); t!("z");"#;
    let found = uses(code);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0], ("x-y".to_owned(), ["name", "n"].map(String::from).into()));
    assert_eq!(found[1], ("z".to_owned(), Vars::new()));
}
