// The chat page's rooms: the rooms we are in, each one's topic, members and unread count, and
// the list beside the conversation that selects the room shown (the one the message box sends
// to), joins a room by name and leaves one. Names compare case-insensitively, as on the server
// (docs/protocol.md, "Rooms"); a room keeps the spelling the server first gave it.

import { h, fill } from './dom.js';
import { tr } from './i18n.js';

/** How rooms are keyed: case-insensitively. */
export const roomKey = (name) => String(name).toLowerCase();

/** "a" → "#a": the join box takes a name with or without its '#'. */
function withHash(name) {
  const n = name.trim();
  return n.startsWith('#') ? n : `#${n}`;
}

/**
 * The rooms we are in. `onSelect(room)` is called when the user selects a room in the list,
 * `onJoin(name)` when they ask to join one, `onLeave(room)` when they ask to leave one.
 */
export class Rooms {
  constructor({ onSelect, onJoin, onLeave }) {
    this.onSelect = onSelect;
    this.onJoin = onJoin;
    this.onLeave = onLeave;
    this.map = new Map();   // key → {name, topic, by, members: [names], unread}
    this.selected = null;   // key of the room shown
    this.home = null;       // the room the login put us in
    this.known = [];        // every room's name from the last `rooms` answer (join suggestions)
    this.list = h('ul', { class: 'room-list' });
    this.suggestions = h('datalist', { id: 'room-suggestions' });
    this.input = h('input', {
      name: 'room', autocomplete: 'off', maxlength: 33, list: 'room-suggestions',
      placeholder: tr("web-chat-room-join-placeholder"), 'aria-label': tr("web-chat-room-join-label"),
    });
    const form = h('form', { class: 'room-join', onsubmit: (e) => {
      e.preventDefault();
      if (!this.input.value.trim()) return;
      this.onJoin(withHash(this.input.value));
      this.input.value = '';
    } }, this.input, this.suggestions, h('button', { class: 'small', type: 'submit' }, tr("web-chat-room-join")));
    this.el = h('nav', { class: 'panel rooms', 'aria-label': tr("web-chat-rooms") },
      h('div', { class: 'panel-head' }, h('h2', {}, tr("web-chat-rooms"))),
      this.list, form);
  }

  /** Start over in `home` (a new login). */
  reset(home) {
    this.map.clear();
    this.home = roomKey(home);
    this.add(home);
    this.selected = this.home;
    this.render();
  }

  /** The room called `name`, if we are in it. */
  get(name) {
    return this.map.get(roomKey(name));
  }

  /** The room shown, if any. */
  current() {
    return this.selected ? this.map.get(this.selected) : undefined;
  }

  /** We are in `name` (nothing changes if we already were). */
  add(name, topic) {
    let room = this.get(name);
    if (!room) {
      room = { name, topic: undefined, by: undefined, members: [], unread: 0 };
      this.map.set(roomKey(name), room);
    }
    if (topic !== undefined) room.topic = topic;
    this.render();
    return room;
  }

  /** We left `name`; when it was shown, the first room left is shown instead. */
  remove(name) {
    const key = roomKey(name);
    this.map.delete(key);
    if (this.selected === key) {
      this.selected = this.map.has(this.home) ? this.home : (this.map.keys().next().value ?? null);
    }
    this.render();
  }

  /** Show `name` and clear its unread count. */
  select(name) {
    const room = this.get(name);
    if (!room) return;
    this.selected = roomKey(name);
    room.unread = 0;
    this.render();
  }

  /** A message arrived in `name`: counts as unread unless the room is shown. */
  arrived(name) {
    const room = this.get(name);
    if (!room || roomKey(name) === this.selected) return;
    room.unread += 1;
    this.render();
  }

  /** The names of every room on the server (from a `rooms` answer), offered in the join box. */
  setKnown(rooms) {
    this.known = rooms.map((r) => r.name);
    fill(this.suggestions, this.known.map((name) => h('option', { value: name })));
    for (const r of rooms) {
      const room = this.get(r.name);
      if (room && r.joined) room.topic = r.topic;
    }
  }

  render() {
    fill(this.list, [...this.map.entries()].map(([key, room]) => {
      const selected = key === this.selected;
      const unread = room.unread > 0
        ? h('span', { class: 'unread', title: tr("web-chat-room-unread", { count: room.unread }) }, String(room.unread))
        : null;
      return h('li', { class: `room${selected ? ' selected' : ''}`, dataset: { room: key } },
        h('button', {
          class: 'room-name', type: 'button', 'aria-current': selected ? 'true' : 'false',
          'aria-label': room.unread > 0 ? `${room.name}, ${tr("web-chat-room-unread", { count: room.unread })}` : room.name,
          onclick: () => this.onSelect(room.name),
        }, h('span', { class: 'name' }, room.name), unread),
        h('button', {
          class: 'small ghost leave', type: 'button', title: tr("web-chat-room-leave", { room: room.name }),
          'aria-label': tr("web-chat-room-leave", { room: room.name }), onclick: () => this.onLeave(room.name),
        }, '×'));
    }));
  }
}
