// The page's language. The sentences are the server's own Fluent messages (the same .ftl files
// the terminal speaks), served as JSON by GET /api/i18n/<lang> with { $name } placeholders left
// for tr() to fill. The language is the one chosen with the switch (remembered in
// localStorage), else the browser's first of navigator.languages that sockhub speaks, else
// English.

const SPOKEN = ['en', 'ko'];
const KEY = 'sockhub.lang';
let messages = {};
let current = 'en';

/** The language to use: the saved choice, else the browser's, else English. */
export function preferred() {
  const saved = localStorage.getItem(KEY);
  if (SPOKEN.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || '']) {
    const primary = String(l).toLowerCase().split('-')[0];
    if (SPOKEN.includes(primary)) return primary;
  }
  return 'en';
}

/** Load the messages of the preferred language (English if they cannot be fetched). */
export async function loadLanguage() {
  current = preferred();
  try {
    const res = await fetch(`/api/i18n/${current}`, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(res.statusText);
    messages = await res.json();
  } catch {
    messages = {};
  }
  document.documentElement.lang = current;
  return current;
}

/** The current language code. */
export function language() {
  return current;
}

/** Remember `lang` and show the page in it. */
export function setLanguage(lang) {
  if (!SPOKEN.includes(lang) || lang === current) return;
  localStorage.setItem(KEY, lang);
  location.reload();
}

/** The message `id` with its { $name } placeholders filled from `args`. */
export function tr(id, args = {}) {
  const text = messages[id];
  if (text === undefined) return id;
  return text.replace(/\{\s*\$([a-z_]+)\s*\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

/** The message `id` as a list of text and nodes, for messages whose placeholders are elements
 * (a name in <strong>): an argument that is a DOM node goes in as itself, in the place the
 * language puts it. */
export function trParts(id, args = {}) {
  const text = messages[id] ?? id;
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(/\{\s*\$([a-z_]+)\s*\}/g)) {
    parts.push(text.slice(last, m.index), m[1] in args ? args[m[1]] : m[0]);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((p) => p !== '');
}

/** Fill every element under `root` that names a message in data-i18n (its text). */
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
}
