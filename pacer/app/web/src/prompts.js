// The prompts screen: what pacer said, newest first, each with its buttons.

import { h, clock } from './dom.js';
import { ACTION_LABELS, ACTION_DONE, why } from './words.js';
import * as store from './store.js';

const DND_CHOICES = [[30, '30 min'], [60, '1 hour'], [120, '2 hours']];

export function promptsView(app) {
  const list = store.prompts();
  const live = list.filter((p) => !expired(p));
  const older = list.filter((p) => expired(p)).slice(0, 5);
  return h('section', { class: 'screen', 'aria-label': 'Prompts' },
    alertBanner(app),
    live.length === 0
      ? h('div', { class: 'card calm' },
        h('h2', {}, 'Nothing to do right now'),
        h('p', {}, 'pacer will show a prompt here when a movement break or a walk is due.'))
      : live.map((p) => promptCard(app, p)),
    dndCard(app),
    older.length ? h('h3', { class: 'older' }, 'Earlier') : null,
    older.map((p) => promptCard(app, p, true)),
  );
}

function expired(p) {
  return p.expiresAt !== null && p.expiresAt !== undefined && p.expiresAt < Date.now();
}

function alertBanner(app) {
  const alert = store.retained('alert');
  if (!alert) return null;
  return h('div', { class: 'card urgent', role: 'alert' },
    h('h2', {}, 'Your care team has been alerted'),
    h('p', {}, 'Other prompts are paused until they have reviewed it. If you have not yet, ' +
      'contact your GP today or go to an emergency department.'));
}

function promptCard(app, p, old = false) {
  const pr = p.prompt;
  const level = pr.level || 'info';
  const actions = old ? [] : (pr.actions || []);
  return h('article', { class: `card prompt level-${level}`, 'data-prompt': pr.id },
    h('div', { class: 'meta' }, clock(pr.time), ' · ', pr.kind.replaceAll('_', ' ')),
    h('h2', {}, pr.title),
    h('p', { class: 'text' }, pr.text),
    why(pr) ? h('p', { class: 'why' }, 'Why now: ', why(pr)) : null,
    p.answer
      ? h('p', { class: `reply ${p.reply?.ok ? 'ok' : p.reply ? 'bad' : 'wait'}`, role: 'status' },
        replyText(p))
      : actions.length
        ? h('div', { class: 'actions' }, actions.map((a) => h('button', {
          class: `btn action-${a}`, 'data-action': a,
          onclick: () => answer(app, pr, a),
        }, ACTION_LABELS[a] || a)))
        : null,
  );
}

function replyText(p) {
  if (!p.reply) return 'Sending…';
  if (p.reply.ok) return `✓ ${ACTION_DONE[p.answer] || 'Sent.'} pacer confirmed.`;
  return `pacer did not take it: ${p.reply.error}`;
}

async function answer(app, prompt, action) {
  store.updatePrompt(prompt.id, { answer: action, reply: null });
  app.render();
  const body = { id: `ack-${prompt.id}-${action}`, prompt: prompt.id, action };
  if (action === 'snooze') body.minutes = 15;
  const reply = await app.link.command('ack', body);
  store.updatePrompt(prompt.id, { reply });
  if (!reply.ok && !reply.timeout) store.updatePrompt(prompt.id, { answer: null, reply: null });
  app.render();
  if (!reply.ok && !reply.timeout) app.toast(`pacer did not take it: ${reply.error}`);
}

function dndCard(app) {
  const state = store.retained('state');
  const until = state?.dnd_until;
  return h('div', { class: 'card dnd' },
    h('h3', {}, 'Do not disturb'),
    until
      ? h('p', {}, `On until ${clock(until)}. Urgent advice still comes through.`)
      : h('p', {}, 'For meetings or driving. Urgent advice still comes through.'),
    h('div', { class: 'actions' },
      DND_CHOICES.map(([m, label]) => h('button', {
        class: 'btn quiet', 'data-dnd': m, onclick: () => dnd(app, m),
      }, label)),
      until ? h('button', { class: 'btn quiet', 'data-dnd': 0, onclick: () => dnd(app, 0) }, 'End now') : null,
    ));
}

async function dnd(app, minutes) {
  const reply = await app.link.command('dnd', { minutes });
  app.toast(reply.ok
    ? (minutes ? `Do not disturb for ${minutes} minutes: pacer confirmed.` : 'Do not disturb ended.')
    : `pacer did not take it: ${reply.error}`);
}
