// The "join a service" form shared by the chat, quiz and calculator pages: a name (or a
// student ID), an optional password, an error line, and a button.

import { h, fill } from './dom.js';
import { tr } from './i18n.js';

/**
 * Show a join form in `root`. `onSubmit({name, password})` is called with the trimmed name
 * and the password (undefined when empty). Returns the form, with `.focusPassword()`.
 */
export function joinForm(root, { title, intro, label = tr("web-name"), placeholder = tr("web-name-placeholder"), name = '', problem = '', needsPassword = false, withPassword = true, button = tr("web-join"), onSubmit }) {
  const nameInput = h('input', { name: 'name', required: true, maxlength: 64, autocomplete: 'username', placeholder, value: name });
  const passInput = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', placeholder: needsPassword ? tr("web-password-required") : tr("web-password-optional") });
  const error = h('p', { class: 'error', role: 'alert' }, problem);
  const form = h('form', { class: 'card login stack', onsubmit: (e) => {
    e.preventDefault();
    const n = nameInput.value.trim();
    if (!n) return;
    error.textContent = '';
    onSubmit({ name: n, password: passInput.value || undefined });
  } },
  h('h1', {}, title),
  h('p', { class: 'muted' }, intro),
  h('label', { class: 'field' }, h('span', {}, label), nameInput),
  withPassword ? h('label', { class: 'field' }, h('span', {}, tr("web-password")), passInput) : null,
  error,
  h('button', { class: 'primary', type: 'submit' }, button));
  form.focusPassword = () => passInput.focus();
  fill(root, h('section', { class: 'center' }, form));
  nameInput.focus();
  return form;
}
