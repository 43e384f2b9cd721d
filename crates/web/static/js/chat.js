// The chat page: log in, talk, whisper (click a received whisper to reply), see who is online,
// and, for admins, kick / mute / unmute from the user list. It speaks the chat service's JSON
// messages over /ws/chat, the same ones a TCP client in JSON mode uses.

import { tr, trParts } from './i18n.js';
import { h, fill, clock, hue, toast } from './dom.js';
import { askKick, askMute } from './moderation.js';
import { joinForm } from './join.js';
import { Live } from './net.js';

/** Most message rows kept on screen; older ones are dropped. */
const MAX_ROWS = 1000;

/** The composer's hint: shorter on a phone. */
const narrow = matchMedia('(max-width: 720px)');
const everyone = () => (narrow.matches ? tr("web-chat-message-everyone") : tr("web-chat-message-everyone-hint"));

export class ChatView {
  constructor(root, services) {
    this.root = root;
    this.needsPassword = services.chat_auth === 'accounts';
    this.live = null;
    this.me = null;          // our name once in the room
    this.admin = false;
    this.wanted = null;      // {name, password} to (re)join with
    this.online = [];
    this.muted = new Set();
    this.reply = null;       // whisper target in reply mode
    this.lastFrom = null;    // who whispered us last (for /r)
    this.ended = false;      // kicked or left: do not rejoin by ourselves
    this.seen = new Set();   // public messages shown, so a rejoin's history is not repeated
    this.renderLogin();
  }

  // ---- connection ----

  connect() {
    if (this.live) return;
    this.live = new Live('/ws/chat', {
      onOpen: () => {
        if (this.wanted) this.live.send({ type: 'login', ...this.loginFields() });
      },
      onMessage: (msg) => this.onMessage(msg),
      onDrop: () => {
        if (this.me) {
          this.system(tr("web-connection-lost"), 'warn');
          this.me = null;
          this.setEnabled(false);
        }
      },
    });
  }

  loginFields() {
    const { name, password } = this.wanted;
    return password ? { name, password } : { name };
  }

  disconnect() {
    this.live?.close();
    this.live = null;
  }

  // ---- events from the server ----

  onMessage(msg) {
    switch (msg.type) {
      case 'welcome': return this.onWelcome(msg);
      case 'error': return this.onError(msg);
      case 'message': return this.addMessage(msg);
      case 'whisper': return this.addWhisper(msg);
      case 'users': return this.setOnline(msg.names);
      case 'joined':
        this.addPerson(msg.name);
        return this.system(tr("web-chat-joined", { name: msg.name, online: msg.online }));
      case 'left':
        this.removePerson(msg.name);
        return this.system(tr("web-chat-left", { name: msg.name, online: msg.online }));
      case 'kicked':
        this.removePerson(msg.name);
        if (this.me && msg.name.toLowerCase() === this.me.toLowerCase()) this.ended = true;
        return this.system(withReason(tr("web-chat-kicked", { name: msg.name, by: msg.by }), msg.reason), 'mod');
      case 'muted': {
        this.muted.add(msg.name.toLowerCase());
        this.renderPeople();
        const muted = msg.until
          ? tr("web-chat-muted-until", { name: msg.name, by: msg.by, until: clock(msg.until) })
          : tr("web-chat-muted", { name: msg.name, by: msg.by });
        return this.system(withReason(muted, msg.reason), 'mod');
      }
      case 'unmuted':
        this.muted.delete(msg.name.toLowerCase());
        this.renderPeople();
        return this.system(msg.by ? tr("web-chat-unmuted", { name: msg.name, by: msg.by }) : tr("web-chat-mute-expired", { name: msg.name }), 'mod');
      case 'bye': return this.onBye(msg.reason);
      case 'info': return this.system(msg.text);
      default: return undefined;
    }
  }

  onWelcome(msg) {
    this.me = msg.name;
    this.admin = !!msg.admin;
    this.ended = false;
    this.historyShown = false;
    if (!this.room) this.renderRoom();
    this.setEnabled(true);
    this.system(tr("web-chat-welcome", { name: msg.name, online: msg.online }));
    this.live.send({ type: 'who' });
    this.input.focus();
  }

  onError(msg) {
    if (!this.me) {
      if (msg.code === 'password_required') {
        this.needsPassword = true;
        this.wanted = null;
        this.renderLogin(this.lastName, tr("web-chat-account-password"));
        this.form?.focusPassword();
      } else {
        this.wanted = null;
        this.renderLogin(this.lastName, msg.message);
      }
      return;
    }
    this.system(msg.message, 'error');
  }

  onBye(reason) {
    const kicked = this.ended;
    this.system(tr("web-disconnected", { reason }), kicked ? 'mod' : 'warn');
    if (kicked || reason === 'goodbye') {
      this.ended = true;
      this.wanted = null;
      this.me = null;
      this.disconnect();
      this.setEnabled(false);
      this.room?.classList.add('ended');
      fill(this.statusLine, h('span', {}, kicked ? tr("web-chat-removed") + ' ' : tr("web-chat-you-left") + ' '),
        h('button', { class: 'link', onclick: () => this.renderLogin(this.lastName) }, tr("web-chat-join-again")));
    }
  }

  // ---- rendering ----

  renderLogin(name = '', problem = '') {
    this.room = null;
    this.reply = null;
    this.form = joinForm(this.root, {
      title: tr("web-chat-join-title"),
      intro: tr("web-chat-join-intro"),
      name, problem, needsPassword: this.needsPassword,
      onSubmit: ({ name: n, password }) => {
        this.lastName = n;
        this.wanted = { name: n, password };
        if (this.live && this.live.state === 'open') {
          this.live.send({ type: 'login', ...this.loginFields() });
        } else {
          this.connect();
        }
      },
    });
  }

  renderRoom() {
    this.list = h('ol', { class: 'messages', 'aria-live': 'polite', 'aria-label': tr("web-chat-messages") });
    this.newer = h('button', { class: 'newer', hidden: true, onclick: () => this.scrollDown(true) }, tr("web-chat-new-messages"));
    this.peopleList = h('ul', { class: 'people-list' });
    this.peopleCount = h('span', { class: 'count' }, '0');
    this.replyChip = h('div', { class: 'reply-chip', hidden: true });
    this.input = h('input', { class: 'say', name: 'text', autocomplete: 'off', maxlength: 4000, placeholder: everyone(), 'aria-label': tr("web-chat-message") });
    narrow.addEventListener('change', () => { if (!this.reply) this.input.placeholder = everyone(); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.reply) this.setReply(null);
    });
    this.sendButton = h('button', { class: 'primary', type: 'submit' }, tr("web-chat-send"));
    this.statusLine = h('div', { class: 'status-line' });
    const composer = h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      this.replyChip, h('div', { class: 'row' }, this.input, this.sendButton));
    this.room = h('section', { class: 'chat' },
      h('div', { class: 'panel conversation' },
        h('div', { class: 'panel-head' },
          h('h1', {}, tr("web-tab-chat")),
          h('span', { class: 'me' }, trParts("web-as", { name: h('strong', {}, this.me || '') }), this.admin ? h('span', { class: 'badge' }, tr("web-admin-badge")) : null),
          h('button', { class: 'ghost small', type: 'button', onclick: () => this.live?.send({ type: 'quit' }) }, tr("web-chat-leave"))),
        h('div', { class: 'scroller' }, this.list, this.newer),
        this.statusLine,
        composer),
      h('aside', { class: 'panel people', 'aria-label': tr("web-chat-online") },
        h('div', { class: 'panel-head' }, h('h2', {}, tr("web-chat-online")), this.peopleCount),
        this.peopleList));
    this.list.parentElement.addEventListener('scroll', () => {
      if (this.nearBottom()) this.newer.hidden = true;
    });
    fill(this.root, this.room);
    this.renderPeople();
  }

  setEnabled(on) {
    if (!this.room) return;
    this.input.disabled = !on;
    this.sendButton.disabled = !on;
    if (on) fill(this.statusLine);
  }

  renderPeople() {
    if (!this.room) return;
    this.peopleCount.textContent = String(this.online.length);
    fill(this.peopleList, this.online.map((name) => {
      const self = this.me && name.toLowerCase() === this.me.toLowerCase();
      const muted = this.muted.has(name.toLowerCase());
      const tools = this.admin && !self ? h('span', { class: 'tools' },
        muted
          ? h('button', { class: 'small ghost', type: 'button', title: tr("web-unmute-title", { name }), onclick: () => this.live.send({ type: 'unmute', name }) }, tr("web-unmute"))
          : h('button', { class: 'small ghost', type: 'button', title: tr("web-mute-title", { name }), onclick: () => this.muteDialog(name) }, tr("web-mute")),
        h('button', { class: 'small danger', type: 'button', title: tr("web-kick-title", { name }), onclick: () => this.kickDialog(name) }, tr("web-kick"))) : null;
      return h('li', { class: `person${self ? ' self' : ''}`, dataset: { name } },
        h('span', { class: 'avatar', style: { '--h': hue(name) } }, [...name][0]?.toUpperCase() || '?'),
        h('button', { class: 'name link', type: 'button', title: self ? tr("web-you-title") : tr("web-chat-whisper-to", { name }), disabled: self, onclick: () => this.setReply(name) }, name),
        muted ? h('span', { class: 'tag muted-tag', title: tr("web-muted") }, tr("web-muted")) : null,
        tools);
    }));
  }

  async kickDialog(name) {
    const kick = await askKick(name);
    if (kick) this.live.send({ type: 'kick', ...kick });
  }

  async muteDialog(name) {
    const mute = await askMute(name);
    if (mute) this.live.send({ type: 'mute', ...mute });
  }

  setOnline(names) {
    this.online = [...names];
    this.renderPeople();
  }

  addPerson(name) {
    if (!this.online.some((n) => n.toLowerCase() === name.toLowerCase())) {
      this.online.push(name);
      this.online.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    }
    this.renderPeople();
  }

  removePerson(name) {
    this.online = this.online.filter((n) => n.toLowerCase() !== name.toLowerCase());
    this.renderPeople();
  }

  setReply(name) {
    if (!this.room) return;
    this.reply = name;
    this.replyChip.hidden = !name;
    this.room.classList.toggle('replying', !!name);
    if (name) {
      fill(this.replyChip,
        h('span', {}, trParts("web-chat-whispering-to", { name: h('strong', {}, name) })),
        h('button', { type: 'button', class: 'chip-close', title: tr("web-chat-back-to-everyone"), 'aria-label': tr("web-chat-stop-whispering"), onclick: () => this.setReply(null) }, '×'));
      this.input.placeholder = tr("web-chat-whisper-placeholder", { name });
    } else {
      this.input.placeholder = everyone();
    }
    this.input.focus();
  }

  // ---- sending ----

  submit() {
    const raw = this.input.value;
    const text = raw.trim();
    if (!text || !this.live) return;
    let msg;
    let m;
    if (this.reply && !text.startsWith('/')) {
      msg = { type: 'whisper', to: this.reply, text: raw };
    } else if ((m = text.match(/^\/(?:w|msg)\s+(\S+)\s+([\s\S]+)$/))) {
      msg = { type: 'whisper', to: m[1], text: m[2] };
    } else if ((m = text.match(/^\/r\s+([\s\S]+)$/))) {
      if (!this.lastFrom) return this.system(tr("web-chat-no-whisper-yet"), 'error');
      msg = { type: 'whisper', to: this.lastFrom, text: m[1] };
    } else if (text === '/who') {
      msg = { type: 'who' };
    } else if (['/quit', '/q', '/exit'].includes(text)) {
      msg = { type: 'quit' };
    } else if (text.startsWith('//')) {
      msg = { type: 'say', text: raw.trim().slice(1) };
    } else if (text.startsWith('/')) {
      return this.system(tr("web-chat-commands"), 'error');
    } else {
      msg = { type: 'say', text: raw };
    }
    if (this.live.send(msg)) this.input.value = '';
    else toast(tr("web-not-connected"), 'error');
  }

  // ---- the message list ----

  nearBottom() {
    const s = this.list.parentElement;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 60;
  }

  scrollDown(force) {
    const s = this.list.parentElement;
    s.scrollTop = s.scrollHeight;
    if (force) this.newer.hidden = true;
  }

  push(row) {
    if (!this.room) return;
    const stick = this.nearBottom();
    this.list.append(row);
    while (this.list.childElementCount > MAX_ROWS) this.list.firstElementChild.remove();
    if (stick) this.scrollDown(true);
    else this.newer.hidden = false;
  }

  system(text, kind = '') {
    this.push(h('li', { class: `row system ${kind}` }, h('time', {}, clock(Date.now())), h('span', { class: 'text' }, text)));
  }

  addMessage(msg) {
    const key = `${msg.at}|${msg.from}|${msg.text}`;
    if (this.seen.has(key)) return;
    if (this.seen.size > 4 * MAX_ROWS) this.seen.clear();
    this.seen.add(key);
    if (msg.history && !this.historyShown) {
      this.historyShown = true;
      this.push(h('li', { class: 'row divider' }, h('span', {}, tr("web-chat-earlier"))));
    }
    const mine = this.me && msg.from.toLowerCase() === this.me.toLowerCase();
    this.push(h('li', { class: `row message${msg.history ? ' history' : ''}${mine ? ' mine' : ''}` },
      h('time', { datetime: msg.at, title: new Date(msg.at).toLocaleString() }, clock(msg.at)),
      h('span', { class: 'from', style: { '--h': hue(msg.from) } }, msg.from),
      h('span', { class: 'text' }, msg.text)));
  }

  addWhisper(msg) {
    const outgoing = this.me && msg.from.toLowerCase() === this.me.toLowerCase();
    if (!outgoing) this.lastFrom = msg.from;
    const row = h('li', { class: `row whisper ${outgoing ? 'out' : 'in'}` },
      h('time', { datetime: msg.at }, clock(msg.at)),
      h('span', { class: 'mark' }, outgoing ? '>>>' : '<<<'),
      h('span', { class: 'from' }, outgoing ? tr("web-chat-whisper-out", { name: msg.to }) : tr("web-chat-whisper-in", { name: msg.from })),
      h('span', { class: 'text' }, msg.text));
    if (!outgoing) {
      row.tabIndex = 0;
      row.setAttribute('role', 'button');
      row.title = tr("web-chat-click-to-reply", { name: msg.from });
      const reply = () => this.setReply(msg.from);
      row.addEventListener('click', reply);
      row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); reply(); } });
    }
    this.push(row);
  }
}

/** A moderation notice with the admin's reason, if they gave one. */
function withReason(text, reason) {
  return reason ? tr("web-with-reason", { text, reason }) : text;
}
