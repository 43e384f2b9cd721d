// The quiz page: join with a name, answer each problem before its countdown runs out, see the
// server's verdict with its times, the running sum, and the live and final leaderboards. It
// speaks the quiz service's JSON messages over /ws/quiz, the same ones a TCP client uses.

import { h, fill, clock } from './dom.js';
import { Live } from './net.js';
import { joinForm } from './join.js';
import { language, tr, trParts } from './i18n.js';

/** How often the countdowns redraw, and how often the live leaderboard is asked for. */
const TICK_MS = 100;
const SCORES_MS = 10000;

const seconds = (ms) => tr("web-seconds", { n: (ms / 1000).toFixed(2) });
const mmss = (secs) => `${Math.floor(secs / 60)}:${String(Math.floor(secs % 60)).padStart(2, '0')}`;
/** Show the operators as people write them; the answer is unaffected. */
const pretty = (text) => text.replace(/\*/g, '×').replace(/\//g, '÷').replace(/-/g, '−');

const VERDICTS = {
  correct: ["web-quiz-correct", 'ok'],
  wrong: ["web-quiz-wrong", 'bad'],
  late: ["web-quiz-late", 'bad'],
  invalid: ["web-quiz-invalid", 'bad'],
  timeout: ["web-quiz-timeout", 'bad'],
};

export class QuizView {
  constructor(root, services) {
    this.root = root;
    this.manual = !!services.quiz_manual;
    this.live = null;
    this.wanted = null;
    this.me = null;
    this.question = null;     // {id, text, deadline (local ms), deadline_ms, attempt}
    this.roundEnds = null;    // local ms
    this.state = 'waiting';
    this.over = false;
    this.renderLogin();
  }

  hide() { clearInterval(this.ticker); clearInterval(this.poller); this.ticker = null; }

  show() {
    if (this.me && !this.ticker) this.startTimers();
  }

  startTimers() {
    clearInterval(this.ticker);
    clearInterval(this.poller);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.poller = setInterval(() => this.live?.send({ type: 'scores' }), SCORES_MS);
  }

  connect() {
    if (this.live) return;
    this.live = new Live('/ws/quiz', {
      onOpen: () => { if (this.wanted) this.live.send({ type: 'login', ...this.wanted }); },
      onMessage: (m) => this.onMessage(m),
      onDrop: () => {
        if (this.me && !this.over) {
          this.note(tr("web-connection-lost"), 'warn');
          this.me = null;
        }
      },
    });
  }

  renderLogin(name = '', problem = '') {
    this.hide();
    this.board = null;
    this.form = joinForm(this.root, {
      title: tr("web-quiz-join-title"),
      intro: tr("web-quiz-join-intro"),
      name, problem,
      onSubmit: ({ name: n, password }) => {
        this.lastName = n;
        this.wanted = password ? { name: n, password } : { name: n };
        this.over = false;
        if (this.live?.state === 'open') this.live.send({ type: 'login', ...this.wanted });
        else this.connect();
      },
    });
  }

  onMessage(m) {
    switch (m.type) {
      case 'welcome': return this.onWelcome(m);
      case 'round_started':
        this.state = 'running';
        this.roundNo = m.round;
        this.roundEnds = Date.now() + m.duration_secs * 1000;
        this.note(tr("web-quiz-round-started", { round: m.round, time: mmss(m.duration_secs) }));
        return this.renderHead();
      case 'question': return this.onQuestion(m);
      case 'verdict': return this.onVerdict(m);
      case 'scores':
        if (m.remaining_secs !== undefined) this.roundEnds = Date.now() + m.remaining_secs * 1000;
        return this.renderBoard(m.players, m.total, false);
      case 'round_over': return this.onRoundOver(m);
      case 'placed':
        this.placed = m;
        return this.renderFinal();
      case 'info': return this.note(m.text);
      case 'error': return this.onError(m);
      case 'bye':
        if (this.over || /kicked|goodbye/.test(m.reason)) {
          this.live?.close();
          this.live = null;
          this.wanted = null;
        }
        return this.note(tr("web-disconnected", { reason: m.reason }), 'warn');
      default: return undefined;
    }
  }

  onError(m) {
    if (!this.me) {
      this.wanted = null;
      this.renderLogin(this.lastName, m.message);
      if (m.code === 'password_required') this.form.focusPassword();
      return;
    }
    this.note(m.message, 'error');
  }

  onWelcome(m) {
    this.me = m.name;
    this.roundNo = m.round;
    this.state = m.state;
    this.answerMs = m.answer_ms;
    this.roundEnds = m.remaining_secs !== undefined ? Date.now() + m.remaining_secs * 1000 : null;
    this.question = null;
    this.placed = null;
    this.over = false;
    this.renderGame();
    this.setStats(m);
    this.note(tr(m.rejoined ? "web-quiz-welcome-back" : "web-quiz-welcome", { name: m.name }));
    this.live.send({ type: 'scores' });
    this.startTimers();
  }

  onQuestion(m) {
    this.state = 'running';
    this.question = { id: m.id, text: m.text, deadline: Date.now() + m.deadline_ms, deadlineMs: m.deadline_ms, attempt: m.attempt };
    this.problemText.textContent = `${pretty(m.text)} = ?`;
    this.problemText.dataset.problem = m.text;
    this.problemMeta.textContent = tr(m.attempt > 1 ? "web-quiz-meta-again" : "web-quiz-meta", { id: m.id, attempt: m.attempt, sent: clock(m.sent_at) });
    this.problemCard.classList.remove('idle');
    this.problemCard.classList.toggle('again', m.attempt > 1);
    this.answer.disabled = false;
    this.submit.disabled = false;
    this.answer.value = '';
    this.answer.focus();
    this.renderHead();
  }

  onVerdict(m) {
    const [id, kind] = VERDICTS[m.result] || [m.result, 'bad'];
    const label = tr(id);
    if (this.question?.id === m.id && m.result === 'correct') this.waitNext();
    fill(this.verdict,
      h('div', { class: `verdict-title ${kind}` }, label, m.answer !== undefined ? h('span', { class: 'muted' }, ` ${tr("web-quiz-you-said", { answer: m.answer })}`) : null),
      h('dl', { class: 'times' },
        h('dt', {}, tr("web-quiz-sent")), h('dd', {}, clock(m.sent_at)),
        h('dt', {}, tr("web-quiz-received")), h('dd', {}, clock(m.received_at)),
        h('dt', {}, tr("web-quiz-took")), h('dd', {}, tr("web-quiz-took-of", { elapsed: seconds(m.elapsed_ms), deadline: seconds(m.deadline_ms) }))));
    this.verdict.hidden = false;
    this.setStats(m);
    this.live.send({ type: 'scores' });
  }

  waitNext() {
    this.question = null;
    this.problemCard.classList.add('idle');
    this.problemText.textContent = tr("web-quiz-next");
    this.problemMeta.textContent = tr("web-quiz-pause");
    this.answer.disabled = true;
    this.submit.disabled = true;
    this.bar.style.setProperty('--left', '0');
    this.countdown.textContent = '';
  }

  onRoundOver(m) {
    this.over = true;
    this.state = 'waiting';
    this.question = null;
    this.final = m;
    this.renderFinal();
  }

  // ---- rendering ----

  renderGame() {
    this.head = h('div', { class: 'quiz-head' });
    this.problemText = h('div', { class: 'problem-text', 'aria-live': 'assertive' }, tr("web-quiz-waiting-round"));
    this.problemMeta = h('div', { class: 'problem-meta muted' });
    this.bar = h('div', { class: 'bar', role: 'progressbar', 'aria-label': tr("web-quiz-time-left-label") }, h('span'));
    this.countdown = h('div', { class: 'countdown' });
    this.answer = h('input', { class: 'answer', name: 'answer', inputmode: 'numeric', autocomplete: 'off', placeholder: tr("web-quiz-your-answer"), disabled: true, 'aria-label': tr("web-quiz-answer") });
    this.submit = h('button', { class: 'primary', type: 'submit', disabled: true }, tr("web-quiz-answer"));
    this.problemCard = h('div', { class: 'problem idle' }, this.problemMeta, this.problemText, this.bar, this.countdown,
      h('form', { class: 'row answer-row', onsubmit: (e) => {
        e.preventDefault();
        const value = this.answer.value.trim();
        if (!value || !this.question) return;
        this.live.send({ type: 'answer', id: this.question.id, value });
      } }, this.answer, this.submit));
    this.verdict = h('div', { class: 'verdict', hidden: true, 'aria-live': 'polite' });
    this.stats = h('div', { class: 'stats' });
    this.notes = h('ol', { class: 'notes' });
    this.board = h('div', { class: 'board' }, h('p', { class: 'muted' }, tr("web-quiz-no-scores")));
    this.finalBox = h('div', { class: 'final', hidden: true });
    fill(this.root, h('section', { class: 'quiz' },
      h('div', { class: 'panel play' }, this.head, this.finalBox, this.problemCard, this.verdict, this.stats, this.notes),
      h('aside', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, tr("web-quiz-leaderboard")), h('span', { class: 'count board-total' }, '0')), this.board)));
    this.renderHead();
  }

  renderHead() {
    if (!this.head) return;
    const start = this.manual && this.state !== 'running'
      ? h('button', { class: 'ghost small', onclick: () => this.live.send({ type: 'start' }) }, tr("web-quiz-start-round")) : null;
    fill(this.head,
      h('h1', {}, tr("web-tab-quiz")),
      h('span', { class: 'me' }, trParts("web-as", { name: h('strong', {}, this.me || '') })),
      h('span', { class: 'round' }, this.roundNo ? tr("web-quiz-round", { round: this.roundNo }) : ''),
      this.roundClock = h('span', { class: 'round-clock', title: tr("web-quiz-round-left-title") }),
      start);
    this.tick();
  }

  setStats(m) {
    const played = m.played_ms !== undefined ? mmss(m.played_ms / 1000) : '—';
    fill(this.stats,
      stat(tr("web-quiz-sum"), m.sum, 'sum'), stat(tr("web-quiz-stat-correct"), `${m.correct} / ${m.attempts}`), stat(tr("web-quiz-played"), played));
  }

  tick() {
    if (this.roundClock) {
      this.roundClock.textContent = this.state === 'running' && this.roundEnds
        ? tr("web-quiz-left", { time: mmss(Math.max(0, (this.roundEnds - Date.now()) / 1000)) }) : tr(this.over ? "web-quiz-round-over-short" : "web-quiz-waiting");
    }
    if (this.question && this.bar) {
      const left = Math.max(0, this.question.deadline - Date.now());
      this.bar.style.setProperty('--left', String(left / this.question.deadlineMs));
      this.bar.classList.toggle('hurry', left < this.question.deadlineMs * 0.3);
      this.countdown.textContent = left > 0 ? tr("web-seconds", { n: (left / 1000).toFixed(1) }) : tr("web-quiz-time-up");
    }
  }

  renderBoard(players, total, final) {
    if (!this.board) return;
    this.root.querySelector('.board-total').textContent = String(total);
    if (players.length === 0) return fill(this.board, h('p', { class: 'muted' }, tr("web-quiz-no-players")));
    return fill(this.board, h('ol', { class: `leaderboard${final ? ' final-board' : ''}` }, players.map((p) => h('li', {
      class: p.name === this.me ? 'me' : '',
    }, h('span', { class: 'rank' }, String(p.rank)), h('span', { class: 'who' }, p.name),
    h('span', { class: 'score' }, String(p.sum)), h('span', { class: 'muted small' }, `${p.correct}/${p.attempts}`)))));
  }

  renderFinal() {
    if (!this.final || !this.finalBox) return;
    const mine = this.placed?.standing || this.final.players.find((p) => p.name === this.me);
    this.renderBoard(this.final.players, this.final.total, true);
    this.problemCard.hidden = true;
    fill(this.finalBox,
      h('h2', {}, tr("web-quiz-round-over", { round: this.final.round })),
      mine ? h('p', { class: 'place' }, tr("web-quiz-finished", { place: place(mine.rank), total: this.final.total, sum: mine.sum })) : null,
      h('button', { class: 'primary', onclick: () => this.renderLogin(this.me || this.lastName) }, tr("web-quiz-join-next")));
    this.finalBox.hidden = false;
    this.renderHead();
  }

  note(text, kind = '') {
    if (!this.notes) return;
    this.notes.prepend(h('li', { class: kind }, h('time', {}, clock(Date.now())), ' ', text));
    while (this.notes.childElementCount > 6) this.notes.lastElementChild.remove();
  }
}

function stat(label, value, cls = '') {
  return h('div', { class: `stat ${cls}` }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, String(value)));
}

/** A place as the language writes it: 1st, 2nd in English; a bare number elsewhere (the
 * message itself says 등). */
function place(n) {
  return language() === 'en' ? ordinal(n) : String(n);
}

function ordinal(n) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}
