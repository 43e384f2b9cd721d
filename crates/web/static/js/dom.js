// Small DOM helpers. Every piece of text from the network goes in through text nodes
// (textContent), never as HTML: a message containing <script> or <img onerror> shows as text.

import { tr } from './i18n.js';

/** Create an element: h('div', {class: 'x', onclick: fn}, 'text', child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'style' && typeof value === 'object') {
      // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, String(v));
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// What the server refuses in chat text (docs/protocol.md, "What text may carry"): C0 controls but
// TAB, DEL, C1 controls, the line/paragraph separators and the bidi overrides and isolates.
const FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text that the server stores as sent (a device's payload) with every control character and
 * bidi override spelled as a visible escape (\n, \x1b, \u{202e}), as the CLI's tables show it. */
export function visible(text) {
  return String(text).replace(FORBIDDEN, (c) => {
    const n = c.codePointAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const pad = (n) => String(n).padStart(2, '0');

/** "15:11:48" in the viewer's time zone. */
export function clock(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "2026-11-21 15:11:48" in the viewer's time zone. */
export function dateTime(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
}

/** Today as YYYY-MM-DD in the viewer's time zone. */
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A stable hue for a name, so each person keeps a colour. */
export function hue(name) {
  let x = 0;
  for (const ch of String(name).toLowerCase()) x = (x * 31 + ch.codePointAt(0)) >>> 0;
  return x % 360;
}

/** A modal dialog with a form; resolves to the form's values, or null when cancelled. */
export function ask({ title, text, fields = [], submit = tr("web-ok"), danger = false }) {
  const dialog = document.getElementById('dialog');
  return new Promise((resolve) => {
    const inputs = fields.map((f) => h('input', {
      name: f.name, type: f.type || 'text', placeholder: f.placeholder || '', value: f.value ?? '',
      required: f.required, minlength: f.minlength, min: f.min, step: f.step, autocomplete: 'off',
    }));
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('h2', {}, title),
      text ? h('p', { class: 'muted' }, text) : null,
      fields.map((f, i) => h('label', { class: 'field' }, h('span', {}, f.label), inputs[i])),
      h('div', { class: 'row end' },
        h('button', { type: 'button', class: 'ghost', value: 'cancel', onclick: () => dialog.close('cancel') }, tr("web-cancel")),
        h('button', { type: 'submit', class: danger ? 'danger' : 'primary', value: 'ok' }, submit)));
    fill(dialog, form);
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'ok') return resolve(null);
      resolve(Object.fromEntries(fields.map((f, i) => [f.name, inputs[i].value])));
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    (inputs[0] || form.querySelector('button[type=submit]')).focus();
  });
}

/** A short message that fades away. */
export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div', { class: `toast ${kind}` }, message);
  box.append(t);
  setTimeout(() => t.classList.add('gone'), 3500);
  setTimeout(() => t.remove(), 4000);
}
