// The relay review screen (admins): the downstream link and counters per source, a chart of
// records per minute by state, and a table of kept / held / missing records with filters and
// paging, from which an operator selects records and re-sends them.

import { h, fill, dateTime, clock, toast, visible } from './dom.js';
import { api, whoAmI } from './net.js';
import { table } from './admin.js';
import { tr } from './i18n.js';

const REFRESH_MS = 5000;
const PAGE = 50;
const SERIES = [
  ['received', "web-relay-received"],
  ['kept', "web-relay-kept"],
  ['forwarded', "web-relay-forwarded"],
  ['held', "web-relay-held"],
];
/** A record's state as the page names it (the API's value stays in the query). */
const STATES = {
  held: "web-relay-state-held",
  missing: "web-relay-state-missing",
  kept: "web-relay-state-kept",
  queued: "web-relay-state-queued",
  forwarded: "web-relay-state-forwarded",
  all: "web-relay-state-all",
};
const stateName = (v) => (STATES[v] ? tr(STATES[v]) : v);
const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element (text only through textContent, like everything else). */
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const ms = (t) => dateTime(t);
const num = (n) => Number(n || 0).toLocaleString('en-US');

export class RelayView {
  constructor(root, services) {
    this.root = root;
    this.services = services;
    this.filter = { state: 'held', source: '', since: '', text: '' };
    this.pages = [];        // cursors of the pages before this one
    this.before = null;     // cursor of this page (null = newest)
    this.selected = new Map();
    this.start();
  }

  async start() {
    this.me = await whoAmI();
    if (!this.me || this.me.role !== 'admin') {
      fill(this.root, h('section', { class: 'center' }, h('div', { class: 'card stack' },
        h('h1', {}, tr("web-relay-review")),
        h('p', {}, tr("web-relay-admins-only")),
        h('a', { class: 'button primary-link', href: '#admin' }, tr("web-go-to-admin")))));
      return;
    }
    this.render();
    this.show();
  }

  hide() { clearInterval(this.timer); this.timer = null; }

  show() {
    if (!this.statusBox) return this.start();
    if (this.timer) return undefined;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    return undefined;
  }

  async call(method, path, body) {
    try {
      return await api(method, path, body);
    } catch (err) {
      if (err.code === 'not_logged_in' || err.code === 'forbidden') {
        this.hide();
        this.statusBox = null;
        this.start();
      }
      toast(err.message, 'error');
      throw err;
    }
  }

  render() {
    this.statusBox = h('div', { class: 'relay-status' });
    this.sourcesBox = h('div', { class: 'table-wrap' });
    this.chartBox = h('div', { class: 'chart' });
    this.recordsBox = h('div', { class: 'table-wrap records' });
    this.pager = h('div', { class: 'row pager' });
    this.resendButton = h('button', { class: 'primary small', disabled: true, onclick: () => this.resend() }, tr("web-relay-resend-selected"));
    const state = h('select', { name: 'state', 'aria-label': tr("web-relay-col-state") },
      Object.keys(STATES).map((v) => h('option', { value: v, selected: v === this.filter.state }, stateName(v))));
    this.sourceSelect = h('select', { name: 'source', 'aria-label': tr("web-relay-col-source") }, h('option', { value: '' }, tr("web-relay-every-source")));
    const since = h('input', { name: 'since', type: 'datetime-local', 'aria-label': tr("web-relay-since") });
    const text = h('input', { name: 'text', type: 'search', placeholder: tr("web-relay-text-placeholder"), 'aria-label': tr("web-relay-text-label") });
    const filters = h('form', { class: 'inline-form filters', onsubmit: (e) => {
      e.preventDefault();
      this.filter = { state: state.value, source: this.sourceSelect.value, since: since.value, text: text.value.trim() };
      this.pages = [];
      this.before = null;
      this.loadRecords();
    } }, state, this.sourceSelect, since, text, h('button', { class: 'primary small', type: 'submit' }, tr("web-relay-filter")));
    fill(this.root, h('section', { class: 'relay' },
      h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, tr("web-tab-relay")),
        h('button', { class: 'ghost small', onclick: () => this.reconcile() }, tr("web-relay-reconcile"))), this.statusBox),
      h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, tr("web-relay-sources"))), this.sourcesBox),
      h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, tr("web-relay-per-minute")), h('span', { class: 'muted small' }, tr("web-relay-last-hour"))), this.chartBox),
      h('div', { class: 'panel', id: 'relay-records' },
        h('div', { class: 'panel-head' }, h('h2', {}, tr("web-relay-records")), this.resendButton),
        h('div', { class: 'stack pad' }, filters, this.recordsBox, this.pager))));
    this.loadRecords();
  }

  async refresh() {
    let status;
    let chart;
    try {
      [status, chart] = await Promise.all([this.call('GET', '/relay/status'), this.call('GET', '/relay/chart?minutes=60')]);
    } catch { return; }
    this.renderStatus(status);
    this.renderChart(chart.minutes);
  }

  renderStatus(st) {
    const link = st.link || {};
    fill(this.statusBox,
      h('div', { class: 'kpis' },
        kpi(tr("web-relay-node"), st.node || '—', st.role),
        kpi(tr("web-relay-downstream"), link.downstream || tr("web-relay-sink"), h('span', { class: `tag link-${link.state}` }, link.state || '—')),
        kpi(tr("web-relay-lag"), tr("web-seconds", { n: (st.lag_ms / 1000).toFixed(1) }), st.backpressure ? h('span', { class: 'tag link-down' }, tr("web-relay-backpressure")) : tr("web-relay-oldest-unacked")),
        kpi(tr("web-relay-pending"), num(st.pending_records), tr("web-relay-bytes", { count: num(st.pending_bytes) })),
        kpi(tr("web-relay-reconnects"), num(link.reconnects), link.last_error ? tr("web-relay-last-error", { error: link.last_error }) : tr("web-relay-since-time", { time: link.since_ms ? clock(link.since_ms) : '—' }))));
    const known = new Set([...this.sourceSelect.options].map((o) => o.value));
    for (const src of st.sources) {
      if (!known.has(src.source)) this.sourceSelect.append(h('option', { value: src.source }, src.source));
    }
    fill(this.sourcesBox, table([tr("web-relay-col-source"), tr("web-relay-received"), tr("web-relay-kept"), tr("web-relay-queued-col"), tr("web-relay-forwarded"), tr("web-relay-held"),
      tr("web-relay-missing"), tr("web-relay-stored"), tr("web-relay-conflicts"), tr("web-relay-last-seq"), tr("web-relay-last-seen")],
      st.sources.map((x) => [h('strong', {}, x.source), num(x.received), num(x.kept), num(x.queued), num(x.forwarded),
        x.held ? h('span', { class: 'tag state-held' }, num(x.held)) : '0',
        x.missing ? h('span', { class: 'tag state-missing' }, num(x.missing)) : '0',
        num(x.stored),
        // Records refused with seq_conflict: another payload came first under their seq.
        x.conflicts ? h('span', { class: 'tag state-held', title: tr("web-relay-conflicts-title") }, num(x.conflicts)) : '0',
        num(x.last_seq), ms(x.last_ms)]), tr("web-relay-no-records")));
  }

  renderChart(minutes) {
    const W = 960;
    const H = 220;
    const pad = { l: 44, r: 28, t: 10, b: 22 };
    const max = Math.max(1, ...minutes.flatMap((m) => SERIES.map(([k]) => m[k] || 0)));
    const x = (i) => pad.l + (i * (W - pad.l - pad.r)) / Math.max(1, minutes.length - 1);
    const y = (v) => H - pad.b - (v * (H - pad.t - pad.b)) / max;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': tr("web-relay-chart-label") });
    for (const f of [0, 0.5, 1]) {
      const v = Math.round(max * f);
      svg.append(s('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: 'grid' }));
      svg.append(s('text', { x: pad.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, num(v)));
    }
    minutes.forEach((m, i) => {
      const lastOne = i === minutes.length - 1;
      if ((i % 10 === 0 && minutes.length - i > 4) || lastOne) {
        svg.append(s('text', { x: x(i), y: H - 6, class: 'axis', 'text-anchor': lastOne ? 'end' : 'middle' }, clock(m.t).slice(0, 5)));
      }
    });
    // Received is the total: an area under which the states' lines run.
    for (const [key] of SERIES) {
      const points = minutes.map((m, i) => `${x(i).toFixed(1)},${y(m[key] || 0).toFixed(1)}`).join(' ');
      if (key === 'received') {
        svg.append(s('polygon', { points: `${x(0)},${y(0)} ${points} ${x(minutes.length - 1)},${y(0)}`, class: 'area received' }));
      }
      svg.append(s('polyline', { points, class: `series ${key}` }));
    }
    const last = minutes[minutes.length - 1] || {};
    fill(this.chartBox, svg, h('div', { class: 'legend' }, SERIES.map(([key, label]) =>
      h('span', { class: `key ${key}` }, h('i'), `${tr(label)} `, h('strong', {}, num(last[key])), h('span', { class: 'muted' }, tr("web-relay-per-min"))))));
  }

  query() {
    const q = new URLSearchParams();
    if (this.filter.state !== 'all') q.set('state', this.filter.state);
    if (this.filter.source) q.set('source', this.filter.source);
    if (this.filter.since) q.set('since', new Date(this.filter.since).toISOString());
    if (this.filter.text) q.set('text', this.filter.text);
    if (this.before) q.set('before', this.before);
    q.set('limit', String(PAGE));
    return q.toString();
  }

  async loadRecords() {
    let page;
    try { page = await this.call('GET', `/relay/records?${this.query()}`); } catch { return; }
    this.selected.clear();
    this.updateResend();
    const all = h('input', { type: 'checkbox', 'aria-label': tr("web-relay-select-all"), onchange: () => {
      for (const box of this.recordsBox.querySelectorAll('tbody input[type=checkbox]:not(:disabled)')) {
        box.checked = all.checked;
        box.dispatchEvent(new Event('change'));
      }
    } });
    const rows = page.records.map((r) => {
      const resendable = ['held', 'missing', 'kept'].includes(r.state);
      const box = h('input', { type: 'checkbox', disabled: !resendable, 'aria-label': tr("web-relay-select", { source: r.source, seq: r.seq }), onchange: () => {
        if (box.checked) this.selected.set(`${r.source}#${r.seq}`, r); else this.selected.delete(`${r.source}#${r.seq}`);
        this.updateResend();
      } });
      const why = r.reason || r.rule || '—';
      return [box, r.source, String(r.seq), h('span', { class: `tag state-${r.state}` }, stateName(r.state)), h('span', { class: 'why', title: why }, why),
        ms(r.at_ms), r.resends ? String(r.resends) : '—', h('span', { class: 'payload', title: visible(r.payload) }, visible(r.payload))];
    });
    const t = table([all, tr("web-relay-col-source"), tr("web-relay-col-seq"), tr("web-relay-col-state"), tr("web-relay-col-why"), tr("web-col-time"),
      tr("web-relay-col-resent"), tr("web-relay-col-record")], rows, tr("web-relay-no-match"));
    fill(this.recordsBox, t);
    fill(this.pager,
      h('button', { class: 'ghost small', disabled: this.pages.length === 0, onclick: () => { this.before = this.pages.pop() ?? null; this.loadRecords(); } }, tr("web-relay-newer")),
      h('span', { class: 'muted small' }, tr(page.total !== undefined ? "web-relay-shown-of" : "web-relay-shown", { count: page.records.length, total: num(page.total) })),
      h('button', { class: 'ghost small', disabled: !page.next_before, onclick: () => { this.pages.push(this.before); this.before = page.next_before; this.loadRecords(); } }, tr("web-relay-older")));
  }

  updateResend() {
    const n = this.selected.size;
    this.resendButton.disabled = n === 0;
    this.resendButton.textContent = n ? tr("web-relay-resend-n", { count: n }) : tr("web-relay-resend-selected");
  }

  async resend() {
    const records = [...this.selected.values()].map((r) => ({ source: r.source, seq: r.seq, state: r.state }));
    try {
      const r = await this.call('POST', '/relay/resend', { records });
      toast(tr(r.queued === 1 ? "web-relay-queued-one" : "web-relay-queued", { count: r.queued }));
    } catch { return; }
    this.loadRecords();
    this.refresh();
  }

  async reconcile() {
    try {
      await this.call('POST', '/relay/reconcile');
      toast(tr("web-relay-reconciling"));
    } catch { /* shown */ }
  }
}

function kpi(label, value, sub) {
  return h('div', { class: 'kpi' }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, value), h('span', { class: 'sub muted' }, sub));
}
