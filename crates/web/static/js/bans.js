// The admin page's bans: a form to ban a user (for a time, or until lifted; optionally their
// address too) and the list of bans in force with a button to lift each. Through the HTTP API
// (/api/bans), acting as the logged-in admin.

import { h, fill, dateTime, toast } from './dom.js';
import { tr } from './i18n.js';

/** "by boss, until 2026-12-04 17:00:00" (or "until lifted"): who decided a ban or mute, and
 * until when. */
export function byUntil(by, until) {
  return until ? tr("web-by-until", { by, until: dateTime(until) }) : tr("web-by-until-lifted", { by });
}

export class BansPanel {
  /** `call(method, path, body)` is the admin page's API call (it shows errors). */
  constructor(call, changed) {
    this.call = call;
    this.changed = changed;
    this.list = h('div', { class: 'table-wrap' });
    this.element = h('div', { class: 'stack' }, this.form(), this.list);
  }

  form() {
    const name = h('input', { name: 'name', placeholder: tr("web-bans-name"), required: true, autocomplete: 'off', 'aria-label': tr("web-bans-name-label") });
    const duration = h('input', { name: 'duration', placeholder: tr("web-bans-duration"), title: tr("web-bans-duration-title"), autocomplete: 'off', 'aria-label': tr("web-bans-duration-label") });
    const reason = h('input', { name: 'reason', placeholder: tr("web-bans-reason"), title: tr("web-bans-reason-title"), autocomplete: 'off', 'aria-label': tr("web-reason") });
    const address = h('input', { name: 'address', type: 'checkbox', 'aria-label': tr("web-bans-address-label") });
    return h('form', { class: 'ban-form', onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), address: address.checked };
      if (duration.value.trim()) body.duration = duration.value.trim();
      if (reason.value.trim()) body.reason = reason.value.trim();
      try {
        const ban = await this.call('POST', '/bans', body);
        toast(tr(ban.until ? "web-bans-banned-until" : "web-bans-banned", { name: ban.name, until: dateTime(ban.until) }));
        e.target.reset();
      } catch { /* shown */ }
      this.load();
      this.changed();
    } }, name, duration, reason, h('label', { class: 'check' }, address, ` ${tr("web-bans-address")}`),
    h('button', { class: 'small danger', type: 'submit' }, tr("web-ban")));
  }

  async load() {
    let data;
    try { data = await this.call('GET', '/bans'); } catch { return; }
    fill(this.list, data.bans.length === 0 ? h('p', { class: 'muted empty' }, tr("web-bans-none"))
      : h('ul', { class: 'plain-list' }, data.bans.map((b) => h('li', { class: 'ban-row', dataset: { name: b.name } },
        h('span', { class: 'name' }, b.name),
        b.address ? h('span', { class: 'tag' }, b.address) : null,
        h('span', { class: 'muted' }, ` ${byUntil(b.by, b.until)}${b.reason ? ` — ${b.reason}` : ''}`),
        h('button', { class: 'small ghost', onclick: () => this.unban(b.name) }, tr("web-unban"))))));
  }

  async unban(name) {
    try {
      await this.call('DELETE', `/bans/${encodeURIComponent(name)}`);
      toast(tr("web-bans-lifted", { name }));
    } catch { /* shown */ }
    this.load();
    this.changed();
  }
}
