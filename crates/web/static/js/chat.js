// The chat page: log in, talk, whisper (click a received whisper to reply), see who is online,
// and, for admins, kick / mute / unmute from the user list. Rooms (rooms.js): the list on the
// left shows the rooms we are in with their unread counts, joins and leaves them; the room
// selected there is the one whose messages, topic and members are shown and where the message
// box sends. It speaks the chat service's JSON messages over /ws/chat, the same ones a TCP client
// in JSON mode uses.

import { tr, trParts } from './i18n.js';
import { h, fill, clock, hue, toast, ask } from './dom.js';
import { askKick, askMute } from './moderation.js';
import { joinForm } from './join.js';
import { Live } from './net.js';
import { Rooms, roomKey } from './rooms.js';

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
    this.rooms = null;       // the rooms we are in (rooms.js), once in the chat
    this.rejoining = new Set(); // rooms joined again after a reconnect (not selected by it)
    this.muted = new Set();  // muted everywhere
    this.roomMuted = new Set(); // "<room key>|<name>" muted in one room
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
      case 'users': return this.setMembers(this.roomOf(msg), msg.names);
      case 'joined': return this.onJoined(msg);
      case 'left': return this.onLeft(msg);
      case 'topic': return this.onTopic(msg);
      case 'rooms':
        this.rooms?.setKnown(msg.rooms || []);
        return this.renderTopic();
      case 'switched': return this.selectRoom(msg.room);
      case 'kicked': return this.onKicked(msg);
      case 'muted': {
        if (msg.room) this.roomMuted.add(`${roomKey(msg.room)}|${msg.name.toLowerCase()}`);
        else this.muted.add(msg.name.toLowerCase());
        this.renderPeople();
        const args = { name: msg.name, by: msg.by, room: msg.room, until: msg.until ? clock(msg.until) : '' };
        const muted = msg.room
          ? tr(msg.until ? "web-chat-muted-room-until" : "web-chat-muted-room", args)
          : tr(msg.until ? "web-chat-muted-until" : "web-chat-muted", args);
        return this.system(withReason(muted, msg.reason), 'mod', msg.room);
      }
      case 'unmuted':
        if (msg.room) {
          this.roomMuted.delete(`${roomKey(msg.room)}|${msg.name.toLowerCase()}`);
          this.renderPeople();
          return this.system(msg.by ? tr("web-chat-unmuted-room", { name: msg.name, by: msg.by, room: msg.room }) : tr("web-chat-mute-expired", { name: msg.name }), 'mod', msg.room);
        }
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
    this.historyShown = new Set();
    // Back after a lost connection: the rooms we were in besides the login's are joined again.
    const home = msg.room || '#lobby';
    const before = this.room && this.rooms ? [...this.rooms.map.values()].map((r) => r.name) : [];
    const shown = this.rooms?.current()?.name;
    if (!this.room) this.renderRoom();
    this.rooms.reset(home);
    this.setEnabled(true);
    this.system(tr("web-chat-welcome", { name: msg.name, online: msg.online }));
    this.live.send({ type: 'who' });
    this.live.send({ type: 'rooms' });
    for (const name of before.filter((n) => roomKey(n) !== roomKey(home))) {
      this.rejoining.add(roomKey(name));
      this.live.send({ type: 'join', room: name });
    }
    this.reselect = shown && roomKey(shown) !== roomKey(home) ? roomKey(shown) : null;
    this.selectRoom(home);
    this.input.focus();
  }

  /** The room an event is about: its `room`, else the login's room. */
  roomOf(msg) {
    return msg.room || this.rooms?.home || '#lobby';
  }

  isMe(name) {
    return !!this.me && name.toLowerCase() === this.me.toLowerCase();
  }

  onJoined(msg) {
    const room = this.roomOf(msg);
    if (!this.isMe(msg.name)) {
      this.addPerson(room, msg.name);
      return this.system(tr("web-chat-joined", { name: msg.name, online: msg.online }), '', room);
    }
    // We joined `room` (the server makes it our current room, so it is shown, except when
    // joining it again after a reconnect).
    const fresh = !this.rooms.get(room);
    this.rooms.add(room, msg.topic);
    if (!fresh) return this.renderTopic();
    this.live.send({ type: 'who', room });
    const again = this.rejoining.delete(roomKey(room));
    this.system(tr("web-chat-room-joined", { room, online: msg.online }), '', room);
    if (!again || this.reselect === roomKey(room)) this.selectRoom(room);
    return undefined;
  }

  onLeft(msg) {
    const room = this.roomOf(msg);
    if (this.isMe(msg.name)) return this.leaveRoom(room, tr("web-chat-room-left", { room }));
    this.removePerson(room, msg.name);
    return this.system(tr("web-chat-left", { name: msg.name, online: msg.online }), '', room);
  }

  onKicked(msg) {
    const text = msg.room
      ? tr("web-chat-kicked-room", { name: msg.name, by: msg.by, room: msg.room })
      : tr("web-chat-kicked", { name: msg.name, by: msg.by });
    if (msg.room) {
      // Out of that room only; the session goes on.
      if (this.isMe(msg.name)) return this.leaveRoom(msg.room, withReason(text, msg.reason), 'mod');
      this.removePerson(msg.room, msg.name);
      return this.system(withReason(text, msg.reason), 'mod', msg.room);
    }
    this.removePerson(null, msg.name);
    if (this.isMe(msg.name)) this.ended = true;
    return this.system(withReason(text, msg.reason), 'mod');
  }

  onTopic(msg) {
    const room = this.rooms?.get(this.roomOf(msg));
    if (!room) return;
    if ((room.topic ?? '') !== (msg.topic ?? '') && msg.by) {
      const text = msg.topic ? tr("web-chat-topic-set", { by: msg.by, topic: msg.topic }) : tr("web-chat-topic-cleared", { by: msg.by });
      this.system(text, '', room.name);
    }
    room.topic = msg.topic;
    this.renderTopic();
  }

  /** We are out of `room` (parted or kicked from it): its lines go, `text` says why. */
  leaveRoom(room, text, kind = '') {
    const key = roomKey(room);
    for (const row of [...this.list.children]) if (row.dataset.room === key) row.remove();
    this.historyShown.delete(key);
    this.rooms.remove(room);
    this.system(text, kind);
    this.selectRoom(this.rooms.current()?.name);
  }

  /** Show `room` (its messages, topic and members; the message box sends there). */
  selectRoom(room) {
    if (!this.rooms) return;
    if (room) this.rooms.select(room);
    for (const row of this.list.children) row.hidden = this.hiddenRow(row);
    this.renderTopic();
    this.renderPeople();
    if (!this.reply) this.input.placeholder = this.hint();
    this.scrollDown(true);
  }

  /** A row of a room other than the one shown is hidden. */
  hiddenRow(row) {
    return !!row.dataset.room && row.dataset.room !== this.rooms?.selected;
  }

  /** The message box's hint: everyone in the login's room, the room's name in another. */
  hint() {
    const room = this.rooms?.current();
    if (!room) return tr("web-chat-no-room");
    return roomKey(room.name) === this.rooms.home ? everyone() : tr("web-chat-message-room", { room: room.name });
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
    this.rooms = null;
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
    narrow.addEventListener('change', () => { if (!this.reply) this.input.placeholder = this.hint(); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.reply) this.setReply(null);
    });
    this.sendButton = h('button', { class: 'primary', type: 'submit' }, tr("web-chat-send"));
    this.statusLine = h('div', { class: 'status-line' });
    this.rooms = new Rooms({
      onSelect: (room) => { this.selectRoom(room); this.input.focus(); },
      onJoin: (room) => this.live?.send({ type: 'join', room }),
      onLeave: (room) => this.live?.send({ type: 'part', room }),
    });
    this.topicBar = h('div', { class: 'topic', 'aria-live': 'polite' });
    const composer = h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      this.replyChip, h('div', { class: 'row' }, this.input, this.sendButton));
    this.room = h('section', { class: 'chat' },
      this.rooms.el,
      h('div', { class: 'panel conversation' },
        h('div', { class: 'panel-head' },
          h('h1', {}, tr("web-tab-chat")),
          h('span', { class: 'me' }, trParts("web-as", { name: h('strong', {}, this.me || '') }), this.admin ? h('span', { class: 'badge' }, tr("web-admin-badge")) : null),
          h('button', { class: 'ghost small', type: 'button', onclick: () => this.live?.send({ type: 'quit' }) }, tr("web-chat-leave"))),
        this.topicBar,
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

  /** The topic of the room shown, above its messages; admins can change it. */
  renderTopic() {
    if (!this.room) return;
    const room = this.rooms.current();
    this.topicBar.hidden = !room;
    if (!room) return;
    fill(this.topicBar,
      h('strong', { class: 'topic-room' }, room.name),
      h('span', { class: `topic-text${room.topic ? '' : ' muted'}` }, room.topic || tr("web-chat-topic-none")),
      this.admin ? h('button', { class: 'small ghost', type: 'button', onclick: () => this.topicDialog(room.name) }, tr("web-chat-topic-edit")) : null);
  }

  async topicDialog(name) {
    const room = this.rooms.get(name);
    const answer = await ask({
      title: tr("web-chat-topic-edit-title", { room: name }),
      fields: [{ name: 'topic', label: tr("web-chat-topic-label"), value: room?.topic ?? '' }],
      submit: tr("web-chat-topic-save"),
    });
    if (answer) this.live?.send({ type: 'topic', room: name, topic: answer.topic.trim() });
  }

  renderPeople() {
    if (!this.room) return;
    const shown = this.rooms.current();
    const members = shown?.members ?? [];
    this.peopleCount.textContent = String(members.length);
    fill(this.peopleList, members.map((name) => {
      const self = this.me && name.toLowerCase() === this.me.toLowerCase();
      const muted = this.muted.has(name.toLowerCase()) || this.roomMuted.has(`${this.rooms.selected}|${name.toLowerCase()}`);
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

  /** The members of `room` (a `users` answer). */
  setMembers(room, names) {
    const r = this.rooms?.get(room);
    if (!r) return;
    r.members = [...names];
    this.renderPeople();
  }

  addPerson(room, name) {
    const r = this.rooms?.get(room);
    if (!r) return;
    if (!r.members.some((n) => n.toLowerCase() === name.toLowerCase())) {
      r.members.push(name);
      r.members.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    }
    this.renderPeople();
  }

  /** `name` is no longer in `room` (null: in any room). */
  removePerson(room, name) {
    const rooms = room ? [this.rooms?.get(room)] : [...(this.rooms?.map.values() ?? [])];
    for (const r of rooms.filter(Boolean)) r.members = r.members.filter((n) => n.toLowerCase() !== name.toLowerCase());
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
      this.input.placeholder = this.hint();
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
      msg = { type: 'who', room: this.rooms?.current()?.name };
    } else if ((m = text.match(/^\/join\s+(\S+)$/))) {
      msg = { type: 'join', room: m[1].startsWith('#') ? m[1] : `#${m[1]}` };
    } else if ((m = text.match(/^\/part(?:\s+(\S+))?$/))) {
      msg = { type: 'part', room: m[1] || this.rooms?.current()?.name };
    } else if (['/quit', '/q', '/exit'].includes(text)) {
      msg = { type: 'quit' };
    } else if (text.startsWith('//')) {
      msg = { type: 'say', text: raw.trim().slice(1), room: this.rooms?.current()?.name };
    } else if (text.startsWith('/')) {
      return this.system(tr("web-chat-commands"), 'error');
    } else {
      msg = { type: 'say', text: raw, room: this.rooms?.current()?.name };
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

  /** Add a row at the bottom; a row of a room (`dataset.room`) shows only while that room does. */
  push(row) {
    if (!this.room) return;
    row.hidden = this.hiddenRow(row);
    const stick = this.nearBottom();
    this.list.append(row);
    while (this.list.childElementCount > MAX_ROWS) this.list.firstElementChild.remove();
    if (row.hidden) return;
    if (stick) this.scrollDown(true);
    else this.newer.hidden = false;
  }

  /** A line from the page or the server; with `room`, it belongs to that room. */
  system(text, kind = '', room = undefined) {
    this.push(h('li', { class: `row system ${kind}`, dataset: room ? { room: roomKey(room) } : undefined },
      h('time', {}, clock(Date.now())), h('span', { class: 'text' }, text)));
  }

  addMessage(msg) {
    const room = roomKey(this.roomOf(msg));
    const key = `${room}|${msg.at}|${msg.from}|${msg.text}`;
    if (this.seen.has(key)) return;
    if (this.seen.size > 4 * MAX_ROWS) this.seen.clear();
    this.seen.add(key);
    if (msg.history && !this.historyShown.has(room)) {
      this.historyShown.add(room);
      this.push(h('li', { class: 'row divider', dataset: { room } }, h('span', {}, tr("web-chat-earlier"))));
    }
    if (!msg.history) this.rooms?.arrived(room);
    const mine = this.me && msg.from.toLowerCase() === this.me.toLowerCase();
    this.push(h('li', { class: `row message${msg.history ? ' history' : ''}${mine ? ' mine' : ''}`, dataset: { room } },
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
