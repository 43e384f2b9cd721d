// The admin page: log in with an admin account, then who is online (with kick / mute /
// unmute), bans, accounts (add, change role, reset password, remove), the day's logins and the
// moderation log. Everything goes through the HTTP API under /api/.

import { h, fill, dateTime, today, ask, toast, visible } from './dom.js';
import { api, whoAmI } from './net.js';
import { askKick, askMute } from './moderation.js';
import { BansPanel, byUntil } from './bans.js';
import { tr, trParts } from './i18n.js';

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
        h('h1', {}, tr("web-admin-only")),
        h('p', {}, tr("web-admin-member", { name: this.me.name })),
        h('button', { class: 'ghost', onclick: () => this.logout() }, tr("web-log-out")))));
    }
    this.onlineBox = h('div', { class: 'online-grid' }, h('p', { class: 'muted' }, tr("web-loading")));
    this.accountsBox = h('div', { class: 'table-wrap' });
    this.loginsBox = h('div', { class: 'table-wrap' });
    this.modBox = h('div', { class: 'table-wrap' });
    this.quizBox = h('div', { class: 'stack' });
    this.bans = new BansPanel((m, p, b) => this.call(m, p, b), () => { this.refreshOnline(); this.loadModeration(); });
    this.dateInput = h('input', { type: 'date', value: today(), onchange: () => this.loadLogins(), 'aria-label': tr("web-admin-day") });
    fill(this.root, h('section', { class: 'admin' },
      h('div', { class: 'admin-head' },
        h('h1', {}, tr("web-admin-title")),
        h('span', { class: 'me' }, trParts("web-admin-signed-in", { name: h('strong', {}, this.me.name) })),
        h('button', { class: 'ghost small', onclick: () => this.logout() }, tr("web-log-out"))),
      h('div', { class: 'admin-grid' },
        h('div', { class: 'admin-col' },
          card(tr("web-admin-online-now"), this.onlineBox, h('button', { class: 'ghost small', onclick: () => this.refreshOnline() }, tr("web-refresh")), 'online'),
          card(tr("web-admin-bans"), this.bans.element, h('button', { class: 'ghost small', onclick: () => this.bans.load() }, tr("web-refresh")), 'bans'),
          card(tr("web-admin-logins"), this.loginsBox, this.dateInput, 'logins')),
        h('div', { class: 'admin-col' },
          card(tr("web-admin-accounts"), h('div', { class: 'stack' }, this.addAccountForm(), this.accountsBox), null, 'accounts'),
          card(tr("web-admin-moderation"), this.modBox, h('button', { class: 'ghost small', onclick: () => this.loadModeration() }, tr("web-refresh")), 'moderation'),
          this.services.calc ? card(tr("web-admin-calc"), this.calcExport(), null, 'calc') : null,
          this.services.quiz ? card(tr("web-admin-quiz"), this.quizBox, h('span', { class: 'row' },
            this.services.quiz_manual ? h('button', { class: 'primary small', onclick: () => this.startRound() }, tr("web-quiz-start-round")) : null,
            h('a', { class: 'button ghost small', href: '/api/quiz/export.csv', download: '' }, tr("web-admin-all-attempts"))), 'quiz') : null))));
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
    const button = h('button', { class: 'primary', type: 'submit' }, tr("web-log-in"));
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
    h('h1', {}, tr("web-admin-login")),
    h('p', { class: 'muted' }, trParts("web-admin-login-intro", { command: h('code', {}, 'sockhub user add NAME --admin') })),
    h('label', { class: 'field' }, h('span', {}, tr("web-name")), name),
    h('label', { class: 'field' }, h('span', {}, tr("web-password")), password),
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
        toast(tr("web-admin-login-ended"), 'error');
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
        h('h3', {}, `${tr("web-tab-chat")} `, h('span', { class: 'count' }, chat ? String(chat.length) : tr("web-off"))),
        !chat ? h('p', { class: 'muted' }, tr("web-admin-chat-off"))
          : chat.length === 0 ? h('p', { class: 'muted' }, tr("web-admin-room-empty"))
            : h('ul', { class: 'plain-list' }, chat.map((name) => {
              const m = muted.get(name.toLowerCase());
              const self = name.toLowerCase() === this.me.name.toLowerCase();
              return h('li', { class: 'person', dataset: { name } },
                h('span', { class: 'name' }, name),
                m ? h('span', { class: 'tag muted-tag' }, m.until ? tr("web-muted-until", { until: dateTime(m.until).slice(11) }) : tr("web-muted")) : null,
                self ? h('span', { class: 'tag' }, tr("web-you")) : h('span', { class: 'tools' },
                  m ? h('button', { class: 'small ghost', onclick: () => this.moderate({ action: 'unmute', name }) }, tr("web-unmute"))
                    : h('button', { class: 'small ghost', onclick: () => this.mute(name) }, tr("web-mute")),
                  h('button', { class: 'small danger', onclick: () => this.kick(name) }, tr("web-kick"))));
            }))),
      data.quiz ? h('div', { class: 'service-block' },
        h('h3', {}, `${tr("web-tab-quiz")} `, h('span', { class: 'count' }, String(data.quiz.length))),
        data.quiz.length === 0 ? h('p', { class: 'muted' }, tr("web-admin-no-players"))
          : h('ul', { class: 'plain-list names' }, data.quiz.map((name) => h('li', {}, name)))) : null,
      data.calc ? h('div', { class: 'service-block' },
        h('h3', {}, `${tr("web-tab-calc")} `, h('span', { class: 'count' }, String(data.calc.length))),
        data.calc.length === 0 ? h('p', { class: 'muted' }, tr("web-admin-no-students"))
          : h('ul', { class: 'plain-list names' }, data.calc.map((st) => h('li', { title: st.department || '' }, st.name ? `${st.student_id} ${st.name}` : st.student_id)))) : null,
      data.connections ? h('p', { class: 'muted small connections' }, `${tr("web-admin-connections")} `,
        Object.entries(data.connections).map(([service, n]) => `${service} ${n}`).join(' · ')) : null,
      muted.size ? h('div', { class: 'service-block' }, h('h3', {}, tr("web-admin-mutes")),
        h('ul', { class: 'plain-list' }, [...muted.values()].map((m) => h('li', { class: 'mute-row' },
          h('span', { class: 'name' }, m.target),
          h('span', { class: 'muted' }, ` ${byUntil(m.actor, m.until)}${m.reason ? ` — ${m.reason}` : ''}`),
          h('button', { class: 'small ghost', onclick: () => this.moderate({ action: 'unmute', name: m.target }) }, tr("web-unmute")))))) : null);
  }

  async moderate(action) {
    try {
      await this.call('POST', '/moderation', action);
      toast(tr("web-admin-done", { action: actionName(action.action), name: action.name }));
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
    const name = h('input', { name: 'name', placeholder: tr("web-bans-name"), required: true, autocomplete: 'off', 'aria-label': tr("web-admin-new-name") });
    const password = h('input', { name: 'password', type: 'password', placeholder: tr("web-admin-password"), required: true, minlength: 4, autocomplete: 'new-password', 'aria-label': tr("web-password") });
    const role = h('select', { name: 'role', 'aria-label': tr("web-admin-role") }, ROLES.map((r) => h('option', { value: r }, roleName(r))));
    const sid = h('input', { name: 'student_id', placeholder: tr("web-admin-student-id"), autocomplete: 'off', 'aria-label': tr("web-student-id") });
    return h('form', { class: 'inline-form', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await this.call('POST', '/accounts', { name: name.value.trim(), password: password.value, role: role.value, student_id: sid.value.trim() || undefined });
        toast(tr("web-admin-account-added", { name: name.value.trim() }));
        e.target.reset();
        this.loadAccounts();
      } catch { /* shown */ }
    } }, name, password, role, sid, h('button', { class: 'primary small', type: 'submit' }, tr("web-admin-add")));
  }

  async loadAccounts() {
    let rows;
    try { rows = await this.call('GET', '/accounts'); } catch { return; }
    fill(this.accountsBox, table([tr("web-name"), tr("web-admin-role"), tr("web-student-id"), tr("web-admin-created"), ''], rows.map((a) => {
      const self = a.name.toLowerCase() === this.me.name.toLowerCase();
      const role = h('select', { 'aria-label': tr("web-admin-role-of", { name: a.name }), disabled: self, onchange: async () => {
        try { await this.call('PATCH', `/accounts/${encodeURIComponent(a.name)}`, { role: role.value }); toast(tr("web-admin-role-changed", { name: a.name, role: roleName(role.value) })); } catch { /* shown */ }
        this.loadAccounts();
      } }, ROLES.map((r) => h('option', { value: r, selected: r === a.role }, roleName(r))));
      return [
        h('strong', {}, a.name), role, a.student_id || '—', dateTime(a.created_at).slice(0, 10),
        h('span', { class: 'tools' },
          h('button', { class: 'small ghost', onclick: () => this.resetPassword(a.name) }, tr("web-admin-reset-password")),
          self ? null : h('button', { class: 'small danger', onclick: () => this.removeAccount(a.name) }, tr("web-admin-remove"))),
      ];
    }), tr("web-admin-no-accounts")));
  }

  async resetPassword(name) {
    const v = await ask({ title: tr("web-admin-new-password", { name }), fields: [{ name: 'password', label: tr("web-password"), type: 'password', required: true, minlength: 4 }], submit: tr("web-admin-set-password") });
    if (!v) return;
    try { await this.call('PATCH', `/accounts/${encodeURIComponent(name)}`, { password: v.password }); toast(tr("web-admin-password-changed", { name })); } catch { /* shown */ }
  }

  async removeAccount(name) {
    const v = await ask({ title: tr("web-admin-remove-ask", { name }), text: tr("web-admin-remove-text"), submit: tr("web-admin-remove"), danger: true });
    if (!v) return;
    try { await this.call('DELETE', `/accounts/${encodeURIComponent(name)}`); toast(tr("web-admin-removed", { name })); } catch { /* shown */ }
    this.loadAccounts();
  }

  // ---- logs ----

  async loadLogins() {
    const offset = -new Date().getTimezoneOffset();
    let rows;
    try { rows = await this.call('GET', `/logins?date=${this.dateInput.value || today()}&tz_offset_minutes=${offset}`); } catch { return; }
    fill(this.loginsBox, table([tr("web-col-time"), tr("web-name"), tr("web-admin-outcome"), tr("web-admin-service"), tr("web-admin-from")], rows.slice().reverse().map((r) => [
      dateTime(r.at).slice(11), r.name, h('span', { class: `tag outcome-${r.outcome}` }, r.outcome), r.service, r.peer,
    ]), tr("web-admin-no-logins")));
  }

  // ---- calculator ----

  calcExport() {
    const link = h('a', { class: 'button primary-link small', href: '/api/calc/export.csv', download: '' }, tr("web-admin-download-csv"));
    const student = h('input', { name: 'student', placeholder: tr("web-admin-student-filter"), inputmode: 'numeric', autocomplete: 'off', 'aria-label': tr("web-student-id"), oninput: () => {
      const id = student.value.trim();
      link.href = id ? `/api/calc/export.csv?student=${encodeURIComponent(id)}` : '/api/calc/export.csv';
    } });
    return h('div', { class: 'stack' },
      h('p', { class: 'muted' }, tr("web-admin-calc-export")),
      h('div', { class: 'inline-form' }, student, link));
  }

  // ---- quiz ----

  async loadRounds() {
    let rows;
    try { rows = await this.call('GET', '/quiz/rounds'); } catch { return; }
    this.roundResults = this.roundResults || h('div', { class: 'round-results' });
    fill(this.quizBox, table([tr("web-admin-round"), tr("web-admin-started"), tr("web-admin-length"), tr("web-admin-players"), tr("web-admin-winner"), ''], rows.slice().reverse().map((r) => [
      h('strong', {}, String(r.id)), dateTime(r.started_at), `${Math.floor(r.duration_secs / 60)}:${String(r.duration_secs % 60).padStart(2, "0")}`,
      r.players ?? '—',
      r.winner ? `${r.winner} (${r.winner_sum})` : tr(r.ended_at ? "web-admin-round-no-players" : "web-admin-round-running"),
      h('span', { class: 'tools' },
        r.ended_at ? h('button', { class: 'small ghost', onclick: () => this.showRound(r.id) }, tr("web-admin-results")) : null,
        h('a', { class: 'button small ghost', href: `/api/quiz/export.csv?round=${r.id}`, download: '' }, 'CSV')),
    ]), tr("web-admin-no-rounds")), this.roundResults);
  }

  async showRound(id) {
    let rows;
    try { rows = await this.call('GET', `/quiz/rounds/${id}`); } catch { return; }
    fill(this.roundResults, h('h3', {}, tr("web-admin-final-board", { round: id })),
      table([tr("web-admin-place"), tr("web-admin-player"), tr("web-quiz-sum"), tr("web-quiz-stat-correct"), tr("web-admin-attempts")], rows.map((r) => [String(r.place), r.player, String(r.sum), String(r.correct), String(r.attempts)]), tr("web-admin-no-round-players")));
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
    fill(this.modBox, table([tr("web-col-time"), tr("web-admin-col-admin"), tr("web-admin-action"), tr("web-admin-user"), tr("web-admin-details")], rows.slice().reverse().map((r) => [
      dateTime(r.at), r.actor, h('span', { class: `tag action-${r.action}` }, actionName(r.action)), r.target,
      [r.until ? tr("web-until", { until: dateTime(r.until) }) : '', r.reason || ''].filter(Boolean).join(' — ') || '—',
    ]), tr("web-admin-no-moderation")));
  }
}

const ROLES = ['member', 'admin'];
const ROLE_NAMES = { member: "web-role-member", admin: "web-role-admin" };
const ACTIONS = { kick: "web-action-kick", mute: "web-action-mute", unmute: "web-action-unmute", ban: "web-action-ban", unban: "web-action-unban" };
/** A role or a moderation action as the page names it; the API's values stay as they are. */
const roleName = (r) => (ROLE_NAMES[r] ? tr(ROLE_NAMES[r]) : r);
const actionName = (a) => (ACTIONS[a] ? tr(ACTIONS[a]) : a);

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
