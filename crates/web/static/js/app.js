// The page's entry point: ask the server which services run, build a tab for each, and switch
// between them by the URL's #hash. Each view is created on first visit and kept, so a chat
// stays connected while you look at another tab.

import { h, fill } from './dom.js';
import { api, onConnectionState } from './net.js';
import { ChatView } from './chat.js';
import { AdminView } from './admin.js';
import { QuizView } from './quiz.js';
import { CalcView } from './calc.js';
import { RelayView } from './relay.js';

const TABS = [
  { id: 'chat', label: 'Chat', service: 'chat', View: ChatView },
  { id: 'quiz', label: 'Quiz', service: 'quiz', View: QuizView },
  { id: 'calc', label: 'Calculator', service: 'calc', View: CalcView },
  { id: 'relay', label: 'Relay', service: 'relay', View: RelayView },
  { id: 'admin', label: 'Admin', View: AdminView },
];

const views = new Map();
let services = null;

async function loadServices() {
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await api('GET', '/services');
    } catch {
      fill(document.getElementById('main'), h('section', { class: 'center' },
        h('div', { class: 'card' }, h('h1', {}, 'Connecting…'), h('p', { class: 'muted' }, 'Waiting for the sockhub server.'))));
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
  document.title = `${tab.label} · sockhub`;
}

async function main() {
  onConnectionState((state) => {
    const conn = document.getElementById('conn');
    conn.dataset.state = state;
    conn.querySelector('.label').textContent =
      { online: 'connected', connecting: 'reconnecting…', offline: 'offline', idle: '' }[state] || state;
  });
  services = await loadServices();
  fill(document.getElementById('tabs'), available().map((t) =>
    h('a', { href: `#${t.id}`, dataset: { tab: t.id } }, t.label)));
  fill(document.getElementById('main'));
  window.addEventListener('hashchange', route);
  route();
}

main();
