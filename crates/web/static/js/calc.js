// The calculator page: log in with a student ID, see your info and your history, submit numbers
// to square, and watch everyone's results arrive. It speaks the calculator's JSON messages over
// /ws/calc, the same ones a TCP client uses.

import { h, fill, clock, dateTime } from './dom.js';
import { Live } from './net.js';
import { joinForm } from './join.js';
import { tr, trParts } from './i18n.js';

/** Results kept in the live feed; how often the list of who is connected refreshes. */
const FEED_ROWS = 200;
const WHO_MS = 5000;

const equation = (r) => (r.input.startsWith('-') ? `(${r.input})² = ${r.square}` : `${r.input}² = ${r.square}`);

export class CalcView {
  constructor(root) {
    this.root = root;
    this.live = null;
    this.wanted = null;
    this.me = null;
    this.renderLogin();
  }

  hide() { clearInterval(this.poller); this.poller = null; }

  show() {
    if (this.me && !this.poller) this.poller = setInterval(() => this.live?.send({ type: 'who' }), WHO_MS);
  }

  connect() {
    if (this.live) return;
    this.live = new Live('/ws/calc', {
      onOpen: () => { if (this.wanted) this.live.send({ type: 'login', student_id: this.wanted }); },
      onMessage: (m) => this.onMessage(m),
      onDrop: () => {
        if (this.me) {
          this.status(tr("web-calc-connection-lost"), 'warn');
          this.me = null;
          if (this.input) this.input.disabled = true;
        }
      },
    });
  }

  renderLogin(id = '', problem = '') {
    this.hide();
    this.form = joinForm(this.root, {
      title: tr("web-calc-title"),
      intro: tr("web-calc-intro"),
      label: tr("web-student-id"), placeholder: tr("web-calc-id-placeholder"), name: id, problem, withPassword: false, button: tr("web-log-in"),
      onSubmit: ({ name }) => {
        this.wanted = name;
        if (this.live?.state === 'open') this.live.send({ type: 'login', student_id: name });
        else this.connect();
      },
    });
  }

  onMessage(m) {
    switch (m.type) {
      case 'welcome': return this.onWelcome(m);
      case 'result': return this.onResult(m);
      case 'history':
        this.history = m.results;
        return this.renderHistory();
      case 'users': return this.renderWho(m.students);
      case 'error':
        if (!this.me) {
          this.wanted = null;
          return this.renderLogin(this.lastId, m.message);
        }
        return this.status(m.message, 'error');
      case 'bye':
        if (/goodbye|kicked/.test(m.reason)) {
          this.live?.close();
          this.live = null;
          this.wanted = null;
        }
        return this.status(tr("web-disconnected", { reason: m.reason }), 'warn');
      default: return undefined;
    }
  }

  onWelcome(m) {
    this.lastId = m.student.student_id;
    this.me = m.student;
    this.history = m.history;
    if (!this.page) this.renderPage();
    fill(this.info,
      h('div', { class: 'avatar big' }, [...(m.student.name || m.student.student_id)][0]),
      h('div', {},
        h('div', { class: 'student-name' }, m.student.name || tr("web-calc-not-in-roster")),
        h('div', { class: 'muted' }, `${m.student.student_id}${m.student.department ? ` · ${m.student.department}` : ''}`)),
      h('button', { class: 'ghost small', onclick: () => this.live.send({ type: 'quit' }) }, tr("web-log-out")));
    this.online.textContent = String(m.online);
    this.input.disabled = false;
    this.input.focus();
    this.renderHistory();
    const welcome = m.student.name ? tr("web-calc-welcome-name", { name: m.student.name }) : tr("web-calc-welcome");
    const next = m.history.length ? tr("web-calc-last-results", { count: m.history.length }) : tr("web-calc-send-a-number");
    this.status(`${welcome} ${next}`);
    this.live.send({ type: 'who' });
    this.show();
  }

  onResult(r) {
    const mine = this.me && r.student_id === this.me.student_id;
    // No join or leave events in this protocol: a result from someone not listed asks again.
    if (!mine && this.whoList && ![...this.whoList.children].some((li) => li.dataset.id === r.student_id)) {
      this.live.send({ type: 'who' });
    }
    if (mine) {
      this.history.push(r);
      this.renderHistory();
    }
    if (!this.feed) return;
    this.feed.prepend(h('li', { class: mine ? 'mine' : '' },
      h('time', { datetime: r.at }, clock(r.at)),
      h('span', { class: 'who' }, r.name ? `${r.student_id} ${r.name}` : r.student_id),
      h('span', { class: 'eq' }, equation(r))));
    while (this.feed.childElementCount > FEED_ROWS) this.feed.lastElementChild.remove();
    this.feedEmpty.hidden = true;
  }

  renderPage() {
    this.info = h('div', { class: 'student' });
    this.online = h('span', {}, '0');
    this.input = h('input', { class: 'number', name: 'value', inputmode: 'decimal', autocomplete: 'off', placeholder: tr("web-calc-number-placeholder"), 'aria-label': tr("web-calc-number-label") });
    this.statusLine = h('p', { class: 'calc-status muted', 'aria-live': 'polite' });
    this.historyList = h('ol', { class: 'history-list' });
    this.feed = h('ol', { class: 'feed', 'aria-live': 'polite' });
    this.feedEmpty = h('p', { class: 'muted' }, tr("web-calc-feed-empty"));
    this.whoList = h('ul', { class: 'plain-list names' });
    this.page = h('section', { class: 'calc' },
      h('div', { class: 'calc-main' },
        h('div', { class: 'panel' }, this.info,
          h('form', { class: 'row square-form', onsubmit: (e) => {
            e.preventDefault();
            const value = this.input.value.trim();
            if (!value) return;
            if (this.live?.send({ type: 'square', value })) this.input.value = '';
          } }, this.input, h('button', { class: 'primary', type: 'submit' }, tr("web-calc-square"))),
          this.statusLine),
        h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, tr("web-calc-history"))), this.historyList)),
      h('div', { class: 'panel calc-feed' },
        h('div', { class: 'panel-head' }, h('h2', {}, tr("web-calc-everyone")), h('span', { class: 'count' }, trParts("web-calc-online", { count: this.online }))),
        this.whoList, this.feedEmpty, this.feed));
    fill(this.root, this.page);
  }

  renderHistory() {
    if (!this.historyList) return;
    const rows = this.history.slice().reverse();
    fill(this.historyList, rows.length === 0 ? h('li', { class: 'muted' }, tr("web-calc-no-results"))
      : rows.map((r) => h('li', {}, h('span', { class: 'eq' }, equation(r)), h('time', { datetime: r.at, class: 'muted' }, dateTime(r.at)))));
  }

  renderWho(students) {
    this.online.textContent = String(students.length);
    fill(this.whoList, students.map((s) => h('li', { title: s.department || '', dataset: { id: s.student_id } }, s.name ? `${s.student_id} ${s.name}` : s.student_id)));
  }

  status(text, kind = '') {
    if (!this.statusLine) return;
    this.statusLine.className = `calc-status ${kind || 'muted'}`;
    this.statusLine.textContent = text;
  }
}
