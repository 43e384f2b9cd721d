// The admin's kick and mute forms, shared by the chat page's user list and the admin page.

import { ask } from './dom.js';
import { tr } from './i18n.js';

/** Ask for a kick's reason; resolves to {name, reason?}, or null when cancelled. */
export async function askKick(name) {
  const v = await ask({ title: tr("web-kick-ask", { name }), text: tr("web-kick-text"), fields: [{ name: 'reason', label: tr("web-reason-optional") }], submit: tr("web-kick"), danger: true });
  if (!v) return null;
  return v.reason.trim() ? { name, reason: v.reason.trim() } : { name };
}

/** Ask for a mute's length and reason; resolves to {name, minutes?, reason?}, or null. */
export async function askMute(name) {
  const v = await ask({ title: tr("web-mute-title", { name }), fields: [
    { name: 'minutes', label: tr("web-mute-minutes"), type: 'number', min: '0.1', step: 'any' },
    { name: 'reason', label: tr("web-reason-optional") }], submit: tr("web-mute") });
  if (!v) return null;
  const mute = { name };
  if (v.minutes) mute.minutes = Number(v.minutes);
  if (v.reason.trim()) mute.reason = v.reason.trim();
  return mute;
}
