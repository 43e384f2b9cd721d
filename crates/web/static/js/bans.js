// The admin page's bans: a form to ban a user (for a time, or until lifted; optionally their
// address too) and the list of bans in force with a button to lift each. Through the HTTP API
// (/api/bans), acting as the logged-in admin.

import { h, fill, dateTime, toast } from './dom.js';

export class BansPanel {
  /** `call(method, path, body)` is the admin page's API call (it shows errors). */
  constructor(call, changed) {
    this.call = call;
    this.changed = changed;
    this.list = h('div', { class: 'table-wrap' });
    this.element = h('div', { class: 'stack' }, this.form(), this.list);
  }

  form() {
    const name = h('input', { name: 'name', placeholder: 'name', required: true, autocomplete: 'off', 'aria-label': 'Name to ban' });
    const duration = h('input', { name: 'duration', placeholder: 'for: 30m, 2h, 7d', title: 'How long: 30m, 2h, 7d; empty: until lifted', autocomplete: 'off', 'aria-label': 'Ban length' });
    const reason = h('input', { name: 'reason', placeholder: 'reason', title: 'Shown to them when they are refused', autocomplete: 'off', 'aria-label': 'Reason' });
    const address = h('input', { name: 'address', type: 'checkbox', 'aria-label': 'Ban their address too' });
    return h('form', { class: 'ban-form', onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), address: address.checked };
      if (duration.value.trim()) body.duration = duration.value.trim();
      if (reason.value.trim()) body.reason = reason.value.trim();
      try {
        const ban = await this.call('POST', '/bans', body);
        toast(`${ban.name} banned${ban.until ? ` until ${dateTime(ban.until)}` : ''}`);
        e.target.reset();
      } catch { /* shown */ }
      this.load();
      this.changed();
    } }, name, duration, reason, h('label', { class: 'check' }, address, ' address too'),
    h('button', { class: 'small danger', type: 'submit' }, 'Ban'));
  }

  async load() {
    let data;
    try { data = await this.call('GET', '/bans'); } catch { return; }
    fill(this.list, data.bans.length === 0 ? h('p', { class: 'muted empty' }, 'No one is banned.')
      : h('ul', { class: 'plain-list' }, data.bans.map((b) => h('li', { class: 'ban-row', dataset: { name: b.name } },
        h('span', { class: 'name' }, b.name),
        b.address ? h('span', { class: 'tag' }, b.address) : null,
        h('span', { class: 'muted' }, ` by ${b.by}, ${b.until ? `until ${dateTime(b.until)}` : 'until lifted'}${b.reason ? ` — ${b.reason}` : ''}`),
        h('button', { class: 'small ghost', onclick: () => this.unban(b.name) }, 'Unban')))));
  }

  async unban(name) {
    try {
      await this.call('DELETE', `/bans/${encodeURIComponent(name)}`);
      toast(`${name} may log in again`);
    } catch { /* shown */ }
    this.load();
    this.changed();
  }
}
