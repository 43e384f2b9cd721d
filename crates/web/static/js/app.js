// The page's entry point: ask the server which services run, build a tab for each, and switch
// between them by the URL's #hash. Each view is created on first visit and kept, so a chat
// stays connected while you look at another tab.

import { h, fill } from './dom.js';
import { loadLanguage, language, setLanguage, tr } from './i18n.js';
import { api, onConnectionState } from './net.js';
import { ChatView } from './chat.js';
import { AdminView } from './admin.js';
import { QuizView } from './quiz.js';
import { CalcView } from './calc.js';
import { RelayView } from './relay.js';

const TABS = [
  { id: 'chat', label: () => tr("web-tab-chat"), service: 'chat', View: ChatView },
  { id: 'quiz', label: () => tr("web-tab-quiz"), service: 'quiz', View: QuizView },
  { id: 'calc', label: () => tr("web-tab-calc"), service: 'calc', View: CalcView },
  { id: 'relay', label: () => tr("web-tab-relay"), service: 'relay', View: RelayView },
  { id: 'admin', label: () => tr("web-tab-admin"), View: AdminView },
];

const views = new Map();
let services = null;

async function loadServices() {
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await api('GET', '/services');
    } catch {
      fill(document.getElementById('main'), h('section', { class: 'center' },
        h('div', { class: 'card' }, h('h1', {}, tr("web-connecting")), h('p', { class: 'muted' }, tr("web-waiting-for-server")))));
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function available() {
  return TABS.filter((t) => !t.service || services[t.service]);
}

function route() {
  const tabs = available();
  const id = location.hash.slice(1) || tabs[0].id;
  const tab = tabs.find((t) => t.id === id) || tabs[0];
  for (const a of document.querySelectorAll('#tabs a')) {
    a.setAttribute('aria-current', a.dataset.tab === tab.id ? 'page' : 'false');
  }
  const main = document.getElementById('main');
  for (const [tid, v] of views) {
    v.el.hidden = tid !== tab.id;
    if (tid !== tab.id) v.view.hide?.();
  }
  let entry = views.get(tab.id);
  if (!entry) {
    const el = h('div', { class: 'view', id: `view-${tab.id}` });
    main.append(el);
    entry = { el, view: new tab.View(el, services) };
    views.set(tab.id, entry);
  } else {
    entry.view.show?.();
  }
  document.title = `${tab.label()} · sockhub`;
}

/** The language switch: one button per language, the current one pressed. */
function languageSwitch() {
  const names = { en: 'English', ko: '한국어' };
  return h('span', { class: 'langs', role: 'group', 'aria-label': tr("web-language") },
    Object.entries(names).map(([code, name]) => h('button', {
      type: 'button', class: 'small ghost', lang: code, dataset: { lang: code },
      'aria-pressed': code === language() ? 'true' : 'false', onclick: () => setLanguage(code),
    }, name)));
}

async function main() {
  await loadLanguage();
  document.querySelector('.topbar').append(languageSwitch());
  document.getElementById('tabs').setAttribute('aria-label', tr("web-services"));
  // The words the stylesheet adds after names (through the CSSOM: the CSP refuses style attributes).
  document.documentElement.style.setProperty('--you', JSON.stringify(` ${tr("web-you-mark")}`));
  document.documentElement.style.setProperty('--reply', JSON.stringify(tr("web-chat-reply-mark")));
  const conn = document.getElementById('conn');
  conn.querySelector('.label').textContent = tr("web-conn-offline");
  onConnectionState((state) => {
    conn.dataset.state = state;
    const label = { online: "web-conn-online", connecting: "web-conn-connecting", offline: "web-conn-offline" }[state];
    conn.querySelector('.label').textContent = label ? tr(label) : '';
  });
  services = await loadServices();
  fill(document.getElementById('tabs'), available().map((t) =>
    h('a', { href: `#${t.id}`, dataset: { tab: t.id } }, t.label())));
  fill(document.getElementById('main'));
  window.addEventListener('hashchange', route);
  route();
}

main();
