// The admin page: log in with an admin account, then who is online (with kick / mute /
// unmute), bans, accounts (add, change role, reset password, remove), the day's logins and the
// moderation log. Everything goes through the HTTP API under /api/.

import { h, fill, dateTime, today, ask, toast, visible } from './dom.js';
import { api, whoAmI } from './net.js';
import { askKick, askMute } from './moderation.js';
import { BansPanel } from './bans.js';

/** How often the online list refreshes while the page is open. */
const REFRESH_MS = 5000;

export class AdminView {
  constructor(root, services) {
    this.root = root;
    this.services = services;
    this.timer = null;
    this.start();
  }

  async start() {
    this.me = await whoAmI();
    this.render();
  }

  /** Stop background refreshes (the tab was left). */
  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  show() {
    if (this.me?.role === 'admin' && !this.timer) {
      this.refreshOnline();
      this.timer = setInterval(() => {
        this.refreshOnline();
        if (this.services.quiz) this.loadRounds();
      }, REFRESH_MS);
    }
  }

  render() {
    this.hide();
    if (!this.me) return this.renderLogin();
    if (this.me.role !== 'admin') {
      return fill(this.root, h('section', { class: 'center' }, h('div', { class: 'card stack' },
        h('h1', {}, 'Admins only'),
        h('p', {}, `${this.me.name} is a member account; the admin page needs an admin.`),
        h('button', { class: 'ghost', onclick: () => this.logout() }, 'Log out'))));
    }
    this.onlineBox = h('div', { class: 'online-grid' }, h('p', { class: 'muted' }, 'Loading…'));
    this.accountsBox = h('div', { class: 'table-wrap' });
    this.loginsBox = h('div', { class: 'table-wrap' });
    this.modBox = h('div', { class: 'table-wrap' });
    this.quizBox = h('div', { class: 'stack' });
    this.bans = new BansPanel((m, p, b) => this.call(m, p, b), () => { this.refreshOnline(); this.loadModeration(); });
    this.dateInput = h('input', { type: 'date', value: today(), onchange: () => this.loadLogins(), 'aria-label': 'Day' });
    fill(this.root, h('section', { class: 'admin' },
      h('div', { class: 'admin-head' },
        h('h1', {}, 'Administration'),
        h('span', { class: 'me' }, 'signed in as ', h('strong', {}, this.me.name)),
        h('button', { class: 'ghost small', onclick: () => this.logout() }, 'Log out')),
      h('div', { class: 'admin-grid' },
        h('div', { class: 'admin-col' },
          card('Online now', this.onlineBox, h('button', { class: 'ghost small', onclick: () => this.refreshOnline() }, 'Refresh'), 'online'),
          card('Bans', this.bans.element, h('button', { class: 'ghost small', onclick: () => this.bans.load() }, 'Refresh'), 'bans'),
          card('Logins of the day', this.loginsBox, this.dateInput, 'logins')),
        h('div', { class: 'admin-col' },
          card('Accounts', h('div', { class: 'stack' }, this.addAccountForm(), this.accountsBox), null, 'accounts'),
          card('Moderation log', this.modBox, h('button', { class: 'ghost small', onclick: () => this.loadModeration() }, 'Refresh'), 'moderation'),
          this.services.calc ? card('Calculator results', this.calcExport(), null, 'calc') : null,
          this.services.quiz ? card('Quiz rounds', this.quizBox, h('span', { class: 'row' },
            this.services.quiz_manual ? h('button', { class: 'primary small', onclick: () => this.startRound() }, 'Start a round') : null,
            h('a', { class: 'button ghost small', href: '/api/quiz/export.csv', download: '' }, 'All attempts (CSV)')), 'quiz') : null))));
    this.show();
    this.loadAccounts();
    this.loadLogins();
    this.loadModeration();
    this.bans.load();
    if (this.services.quiz) this.loadRounds();
    return undefined;
  }

  renderLogin(problem = '') {
    const name = h('input', { name: 'name', required: true, autocomplete: 'username' });
    const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
    const error = h('p', { class: 'error', role: 'alert' }, problem);
    const button = h('button', { class: 'primary', type: 'submit' }, 'Log in');
    fill(this.root, h('section', { class: 'center' }, h('form', { class: 'card login stack', onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      error.textContent = '';
      try {
        this.me = await api('POST', '/login', { name: name.value.trim(), password: password.value });
        this.render();
      } catch (err) {
        error.textContent = err.message;
        password.value = '';
        password.focus();
      } finally {
        button.disabled = false;
      }
    } },
    h('h1', {}, 'Admin login'),
    h('p', { class: 'muted' }, 'Use an admin account (create one with ', h('code', {}, 'sockhub user add NAME --admin'), ').'),
    h('label', { class: 'field' }, h('span', {}, 'Name'), name),
    h('label', { class: 'field' }, h('span', {}, 'Password'), password),
    error, button)));
    name.focus();
  }

  async logout() {
    await api('POST', '/logout').catch(() => {});
    this.me = null;
    this.render();
  }

  /** Run an API call; a lost login sends us back to the login form, other errors are shown. */
  async call(method, path, body) {
    try {
      return await api(method, path, body);
    } catch (err) {
      if (err.code === 'not_logged_in' || err.code === 'forbidden') {
        this.me = null;
        this.render();
        toast('Your admin login ended; log in again.', 'error');
      } else {
        toast(err.message, 'error');
      }
      throw err;
    }
  }

  // ---- online ----

  async refreshOnline() {
    let data;
    try { data = await this.call('GET', '/online'); } catch { return; }
    const muted = new Map((data.mutes || []).map((m) => [m.target.toLowerCase(), m]));
    const chat = data.chat;
    fill(this.onlineBox,
      h('div', { class: 'service-block' },
        h('h3', {}, 'Chat ', h('span', { class: 'count' }, chat ? String(chat.length) : 'off')),
        !chat ? h('p', { class: 'muted' }, 'The chat service is not running.')
          : chat.length === 0 ? h('p', { class: 'muted' }, 'No one is in the room.')
            : h('ul', { class: 'plain-list' }, chat.map((name) => {
              const m = muted.get(name.toLowerCase());
              const self = name.toLowerCase() === this.me.name.toLowerCase();
              return h('li', { class: 'person', dataset: { name } },
                h('span', { class: 'name' }, name),
                m ? h('span', { class: 'tag muted-tag' }, m.until ? `muted until ${dateTime(m.until).slice(11)}` : 'muted') : null,
                self ? h('span', { class: 'tag' }, 'you') : h('span', { class: 'tools' },
                  m ? h('button', { class: 'small ghost', onclick: () => this.moderate({ action: 'unmute', name }) }, 'Unmute')
                    : h('button', { class: 'small ghost', onclick: () => this.mute(name) }, 'Mute'),
                  h('button', { class: 'small danger', onclick: () => this.kick(name) }, 'Kick')));
            }))),
      data.quiz ? h('div', { class: 'service-block' },
        h('h3', {}, 'Quiz ', h('span', { class: 'count' }, String(data.quiz.length))),
        data.quiz.length === 0 ? h('p', { class: 'muted' }, 'No one is playing.')
          : h('ul', { class: 'plain-list names' }, data.quiz.map((name) => h('li', {}, name)))) : null,
      data.calc ? h('div', { class: 'service-block' },
        h('h3', {}, 'Calculator ', h('span', { class: 'count' }, String(data.calc.length))),
        data.calc.length === 0 ? h('p', { class: 'muted' }, 'No student is logged in.')
          : h('ul', { class: 'plain-list names' }, data.calc.map((st) => h('li', { title: st.department || '' }, st.name ? `${st.student_id} ${st.name}` : st.student_id)))) : null,
      data.connections ? h('p', { class: 'muted small connections' }, 'Open connections: ',
        Object.entries(data.connections).map(([service, n]) => `${service} ${n}`).join(' · ')) : null,
      muted.size ? h('div', { class: 'service-block' }, h('h3', {}, 'Mutes in force'),
        h('ul', { class: 'plain-list' }, [...muted.values()].map((m) => h('li', { class: 'mute-row' },
          h('span', { class: 'name' }, m.target),
          h('span', { class: 'muted' }, ` by ${m.actor}${m.until ? `, until ${dateTime(m.until)}` : ', until lifted'}${m.reason ? ` — ${m.reason}` : ''}`),
          h('button', { class: 'small ghost', onclick: () => this.moderate({ action: 'unmute', name: m.target }) }, 'Unmute'))))) : null);
  }

  async moderate(action) {
    try {
      await this.call('POST', '/moderation', action);
      toast(`${action.action} ${action.name}: done`);
    } catch { /* shown */ }
    this.refreshOnline();
    this.loadModeration();
  }

  async kick(name) {
    const kick = await askKick(name);
    if (kick) this.moderate({ action: 'kick', ...kick });
  }

  async mute(name) {
    const mute = await askMute(name);
    if (mute) this.moderate({ action: 'mute', ...mute });
  }

  // ---- accounts ----

  addAccountForm() {
    const name = h('input', { name: 'name', placeholder: 'name', required: true, autocomplete: 'off', 'aria-label': 'New account name' });
    const password = h('input', { name: 'password', type: 'password', placeholder: 'password', required: true, minlength: 4, autocomplete: 'new-password', 'aria-label': 'Password' });
    const role = h('select', { name: 'role', 'aria-label': 'Role' }, h('option', { value: 'member' }, 'member'), h('option', { value: 'admin' }, 'admin'));
    const sid = h('input', { name: 'student_id', placeholder: 'student ID', autocomplete: 'off', 'aria-label': 'Student ID' });
    return h('form', { class: 'inline-form', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await this.call('POST', '/accounts', { name: name.value.trim(), password: password.value, role: role.value, student_id: sid.value.trim() || undefined });
        toast(`Account ${name.value.trim()} added`);
        e.target.reset();
        this.loadAccounts();
      } catch { /* shown */ }
    } }, name, password, role, sid, h('button', { class: 'primary small', type: 'submit' }, 'Add'));
  }

  async loadAccounts() {
    let rows;
    try { rows = await this.call('GET', '/accounts'); } catch { return; }
    fill(this.accountsBox, table(['Name', 'Role', 'Student ID', 'Created', ''], rows.map((a) => {
      const self = a.name.toLowerCase() === this.me.name.toLowerCase();
      const role = h('select', { 'aria-label': `Role of ${a.name}`, disabled: self, onchange: async () => {
        try { await this.call('PATCH', `/accounts/${encodeURIComponent(a.name)}`, { role: role.value }); toast(`${a.name} is now ${role.value}`); } catch { /* shown */ }
        this.loadAccounts();
      } }, ['member', 'admin'].map((r) => h('option', { value: r, selected: r === a.role }, r)));
      return [
        h('strong', {}, a.name), role, a.student_id || '—', dateTime(a.created_at).slice(0, 10),
        h('span', { class: 'tools' },
          h('button', { class: 'small ghost', onclick: () => this.resetPassword(a.name) }, 'Reset password'),
          self ? null : h('button', { class: 'small danger', onclick: () => this.removeAccount(a.name) }, 'Remove')),
      ];
    }), 'No accounts yet.'));
  }

  async resetPassword(name) {
    const v = await ask({ title: `New password for ${name}`, fields: [{ name: 'password', label: 'Password', type: 'password', required: true, minlength: 4 }], submit: 'Set password' });
    if (!v) return;
    try { await this.call('PATCH', `/accounts/${encodeURIComponent(name)}`, { password: v.password }); toast(`Password of ${name} changed`); } catch { /* shown */ }
  }

  async removeAccount(name) {
    const v = await ask({ title: `Remove ${name}?`, text: 'The account and its password go; its logs stay.', submit: 'Remove', danger: true });
    if (!v) return;
    try { await this.call('DELETE', `/accounts/${encodeURIComponent(name)}`); toast(`${name} removed`); } catch { /* shown */ }
    this.loadAccounts();
  }

  // ---- logs ----

  async loadLogins() {
    const offset = -new Date().getTimezoneOffset();
    let rows;
    try { rows = await this.call('GET', `/logins?date=${this.dateInput.value || today()}&tz_offset_minutes=${offset}`); } catch { return; }
    fill(this.loginsBox, table(['Time', 'Name', 'Outcome', 'Service', 'From'], rows.slice().reverse().map((r) => [
      dateTime(r.at).slice(11), r.name, h('span', { class: `tag outcome-${r.outcome}` }, r.outcome), r.service, r.peer,
    ]), 'No logins on this day.'));
  }

  // ---- calculator ----

  calcExport() {
    const link = h('a', { class: 'button primary-link small', href: '/api/calc/export.csv', download: '' }, 'Download CSV');
    const student = h('input', { name: 'student', placeholder: 'every student, or one student ID', inputmode: 'numeric', autocomplete: 'off', 'aria-label': 'Student ID', oninput: () => {
      const id = student.value.trim();
      link.href = id ? `/api/calc/export.csv?student=${encodeURIComponent(id)}` : '/api/calc/export.csv';
    } });
    return h('div', { class: 'stack' },
      h('p', { class: 'muted' }, 'Every result, in the order it was computed: id, student ID, name, number, square, time (UTC).'),
      h('div', { class: 'inline-form' }, student, link));
  }

  // ---- quiz ----

  async loadRounds() {
    let rows;
    try { rows = await this.call('GET', '/quiz/rounds'); } catch { return; }
    this.roundResults = this.roundResults || h('div', { class: 'round-results' });
    fill(this.quizBox, table(['Round', 'Started', 'Length', 'Players', 'Winner', ''], rows.slice().reverse().map((r) => [
      h('strong', {}, String(r.id)), dateTime(r.started_at), `${Math.floor(r.duration_secs / 60)}:${String(r.duration_secs % 60).padStart(2, "0")}`,
      r.players ?? '—',
      r.winner ? `${r.winner} (${r.winner_sum})` : (r.ended_at ? 'no players' : 'running'),
      h('span', { class: 'tools' },
        r.ended_at ? h('button', { class: 'small ghost', onclick: () => this.showRound(r.id) }, 'Results') : null,
        h('a', { class: 'button small ghost', href: `/api/quiz/export.csv?round=${r.id}`, download: '' }, 'CSV')),
    ]), 'No rounds yet.'), this.roundResults);
  }

  async showRound(id) {
    let rows;
    try { rows = await this.call('GET', `/quiz/rounds/${id}`); } catch { return; }
    fill(this.roundResults, h('h3', {}, `Round ${id}: final leaderboard`),
      table(['Place', 'Player', 'Sum', 'Correct', 'Attempts'], rows.map((r) => [String(r.place), r.player, String(r.sum), String(r.correct), String(r.attempts)]), 'No players.'));
  }

  async startRound() {
    try {
      const r = await this.call('POST', '/quiz/start');
      toast(r.message);
    } catch { /* shown */ }
    setTimeout(() => this.loadRounds(), 500);
  }

  async loadModeration() {
    let rows;
    try { rows = await this.call('GET', '/moderation?limit=200'); } catch { return; }
    fill(this.modBox, table(['Time', 'Admin', 'Action', 'User', 'Details'], rows.slice().reverse().map((r) => [
      dateTime(r.at), r.actor, h('span', { class: `tag action-${r.action}` }, r.action), r.target,
      [r.until ? `until ${dateTime(r.until)}` : '', r.reason || ''].filter(Boolean).join(' — ') || '—',
    ]), 'No kicks, mutes, unmutes or bans yet.'));
  }
}

function card(title, body, extra, id) {
  return h('section', { class: 'panel card-panel', id: `admin-${id}` }, h('div', { class: 'panel-head' }, h('h2', {}, title), extra || null), body);
}

/** A table of text cells (or elements); `empty` shown when there are no rows. Text cells are
 * shown with control characters and bidi overrides escaped, as the CLI's tables show them. */
export function table(headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, empty);
  const cell = (c) => (typeof c === 'string' ? visible(c) : c);
  return h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => h('td', { 'data-label': typeof headers[i] === 'string' ? headers[i] : '' }, cell(c)))))));
}
