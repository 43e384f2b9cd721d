// The admin's kick and mute forms, shared by the chat page's user list and the admin page.

import { ask } from './dom.js';

/** Ask for a kick's reason; resolves to {name, reason?}, or null when cancelled. */
export async function askKick(name) {
  const v = await ask({ title: `Kick ${name}?`, text: 'They are disconnected at once; everyone sees who did it.', fields: [{ name: 'reason', label: 'Reason (optional)' }], submit: 'Kick', danger: true });
  if (!v) return null;
  return v.reason.trim() ? { name, reason: v.reason.trim() } : { name };
}

/** Ask for a mute's length and reason; resolves to {name, minutes?, reason?}, or null. */
export async function askMute(name) {
  const v = await ask({ title: `Mute ${name}`, fields: [
    { name: 'minutes', label: 'Minutes (empty: until unmuted)', type: 'number', min: '0.1', step: 'any' },
    { name: 'reason', label: 'Reason (optional)' }], submit: 'Mute' });
  if (!v) return null;
  const mute = { name };
  if (v.minutes) mute.minutes = Number(v.minutes);
  if (v.reason.trim()) mute.reason = v.reason.trim();
  return mute;
}
