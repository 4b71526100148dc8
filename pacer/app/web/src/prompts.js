// The prompts screen: what pacer said, newest first, each with its buttons.

import { h, clock } from './dom.js';
import { ACTION_LABELS, ACTION_DONE, dial, firstLine, safety, tierOf, why } from './words.js';
import * as store from './store.js';

const DND_CHOICES = [[30, '30 min'], [60, '1 hour'], [120, '2 hours']];

export function promptsView(app) {
  const list = store.prompts();
  const live = list.filter((p) => !expired(p));
  const older = list.filter((p) => expired(p)).slice(0, 5);
  // Red-flag advice first: what to do comes before anything else.
  const flagged = live.filter((p) => p.prompt.kind === 'red_flag');
  const others = live.filter((p) => p.prompt.kind !== 'red_flag');
  return h('section', { class: 'screen', 'aria-label': 'Prompts' },
    flagged.map((p) => promptCard(app, p)),
    alertBanner(app, flagged.length > 0),
    live.length === 0
      ? h('div', { class: 'card calm' },
        h('h2', {}, 'Nothing to do right now'),
        h('p', {}, 'pacer will show a prompt here when a movement break or a walk is due.'))
      : others.map((p) => promptCard(app, p)),
    dndCard(app),
    older.length ? h('h3', { class: 'older' }, 'Earlier') : null,
    older.map((p) => promptCard(app, p, true)),
  );
}

function expired(p) {
  return p.expiresAt !== null && p.expiresAt !== undefined && p.expiresAt < Date.now();
}

function alertBanner(app, redFlagShown) {
  const alert = store.retained('alert');
  if (!alert) return null;
  if (alert.kind === 'review_suggested') {
    return h('div', { class: 'card review', role: 'status', id: 'alert' },
      h('h2', {}, 'Time to check in with your physio or GP'),
      h('p', {}, 'Your physiotherapist has been told.'));
  }
  const table = safety(app.config);
  const tier = alert.tier || tierOf(alert.flags || [], table);
  // The advice itself, unless a red-flag prompt below already gives it.
  const advise = !alert.seen && !redFlagShown;
  return h('div', { class: 'card urgent', role: 'alert', id: 'alert' },
    h('h2', {}, 'Your care team has been alerted'),
    alert.seen ? h('p', {}, 'You have told pacer you have been seen.') : null,
    advise ? h('p', {}, firstLine(tier, table)) : null,
    advise && tier === 'emergency' ? callLink(table) : null,
    h('p', {}, 'Other prompts are paused until your care team has reviewed it.'));
}

function callLink(table) {
  return h('a', { class: 'btn call', href: `tel:${dial(table.emergency_number)}` },
    `Call ${table.emergency_number}`);
}

function promptCard(app, p, old = false) {
  const pr = p.prompt;
  const level = pr.level || 'info';
  const redFlag = pr.kind === 'red_flag';
  const table = safety(app.config);
  const tier = redFlag ? pr.reason?.tier || tierOf(pr.reason?.flags || [], table) : null;
  const actions = old ? [] : buttons(pr.actions || []);
  // After "I've been seen", "told I can carry on" may still come.
  const later = p.answer === 'seen' && p.reply?.ok && actions.includes('seen-resume')
    ? ['seen-resume'] : [];
  return h('article', {
    class: `card prompt level-${level}${redFlag ? ` red-flag tier-${tier}` : ''}`,
    'data-prompt': pr.id,
  },
  h('div', { class: 'meta' }, clock(pr.time), ' · ', String(pr.kind || '').replaceAll('_', ' ')),
  h('h2', {}, pr.title),
  h('p', { class: 'text' }, pr.text),
  why(pr) ? h('p', { class: 'why' }, 'Why now: ', why(pr)) : null,
  redFlag && tier === 'emergency' && !old ? callLink(table) : null,
  p.answer
    ? h('p', { class: `reply ${p.reply?.ok ? 'ok' : p.reply ? 'bad' : 'wait'}`, role: 'status' },
      replyText(p))
    : null,
  !p.answer || later.length
    ? actionButtons(app, pr, p.answer ? later : actions)
    : null,
  );
}

/** A prompt's actions as buttons: "seen" is two, seen and seen-and-carry-on. */
function buttons(actions) {
  return actions.flatMap((a) => (a === 'seen' ? ['seen', 'seen-resume'] : [a]));
}

function actionButtons(app, pr, actions) {
  if (!actions.length) return null;
  return h('div', { class: `actions${actions.some((a) => a.startsWith('seen')) ? ' stacked' : ''}` },
    actions.map((a) => h('button', {
      class: `btn action-${a}`, 'data-action': a,
      onclick: () => answer(app, pr, a),
    }, ACTION_LABELS[a] || a)));
}

function replyText(p) {
  if (!p.reply) return 'Sending…';
  if (p.reply.ok) return `✓ ${ACTION_DONE[p.answer] || 'Sent.'} pacer confirmed.`;
  return `pacer did not take it: ${p.reply.error}`;
}

async function answer(app, prompt, action) {
  const before = store.prompts().find((q) => q.prompt.id === prompt.id);
  const undo = { answer: before?.answer ?? null, reply: before?.reply ?? null };
  store.updatePrompt(prompt.id, { answer: action, reply: null });
  app.render();
  const body = { id: `ack-${prompt.id}-${action}`, prompt: prompt.id, action };
  if (action === 'snooze') body.minutes = 15;
  if (action === 'seen' || action === 'seen-resume') {
    body.action = 'seen';
    body.resume = action === 'seen-resume';
  }
  const reply = await app.command('ack', body);
  store.updatePrompt(prompt.id, { reply });
  if (!reply.ok && !reply.timeout) store.updatePrompt(prompt.id, undo);
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
  const reply = await app.command('dnd', { minutes });
  app.toast(reply.ok
    ? (minutes ? `Do not disturb for ${minutes} minutes: pacer confirmed.` : 'Do not disturb ended.')
    : `pacer did not take it: ${reply.error}`);
}
