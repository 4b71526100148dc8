// Today: the sitting bout now, steps against the plan's band, walks done
// against the plan, and the plan this week with why it changed. From the
// retained pacer/<u>/state, summary/day and summary/week.

import { h, steps, clock } from './dom.js';
import { DAY_TAPS, PHASES } from './words.js';
import * as store from './store.js';

export function todayView(app) {
  const state = store.retained('state');
  const week = store.retained('summary/week');
  const day = store.retained('summary/day');
  if (!state || !state.plan && !state.time) {
    // The taps come first and work without figures: "I'm up" is what opens the day.
    return h('section', { class: 'screen', 'aria-label': 'Today' },
      tapsCard(app, state),
      h('div', { class: 'card calm' }, h('h2', {}, 'No figures yet'),
        h('p', {}, 'They appear once pacer has heard from your wearable today.')));
  }
  const rules = effectiveRules(app.config.rules || {}, week, state);
  return h('section', { class: 'screen', 'aria-label': 'Today' },
    h('p', { class: 'meta' }, state.time ? `As of ${clock(state.time)}` : ''),
    dayLine(state),
    tapsCard(app, state),
    h('div', { class: 'pair' }, sittingCard(state, rules), walksCard(state, rules)),
    stepsCard(state),
    planCard(state, week, day),
  );
}

/** The rule values in force: the config's, then the physiotherapist's changes
 * listed in the weekly summary, then the settle plan. */
export function effectiveRules(base, week, state) {
  const rules = { sitting_limit_min: 40, walks_per_day: 3, ...base };
  for (const change of week?.plan_changes || []) {
    const set = change.set || {};
    if (typeof set['sitting.limit_min'] === 'number' && change.by !== 'pacer') {
      rules.sitting_limit_min = set['sitting.limit_min'];
    }
    if (typeof set['walks.per_day'] === 'number') rules.walks_per_day = set['walks.per_day'];
  }
  if (state?.plan?.phase === 'settling') {
    rules.sitting_limit_min = Math.min(rules.sitting_limit_min, 30);
    rules.walks_per_day = 3;
  }
  return rules;
}

function sittingCard(state, rules) {
  const min = state.sitting_min || 0;
  const limit = rules.sitting_limit_min;
  const sitting = min > 0;
  const share = Math.min(1, min / limit);
  return h('div', { class: 'card figure', id: 'sitting' },
    h('h2', {}, 'Sitting now'),
    h('p', { class: 'big' }, sitting ? `${min} min` : 'Not sitting'),
    h('div', { class: 'bar', role: 'img', 'aria-label': `${min} of ${limit} minutes` },
      h('div', { class: `fill ${min >= limit ? 'over' : ''}`, style: { width: `${share * 100}%` } })),
    h('p', {}, sitting
      ? (min >= limit ? `Past your ${limit}-min limit: time for a break.`
        : `Break due at ${limit} min.`)
      : `Breaks after ${limit} min of sitting.`));
}

function stepsCard(state) {
  const plan = state.plan || {};
  const n = state.steps_today || 0;
  if (!plan.quota) {
    return h('div', { class: 'card figure', id: 'steps' },
      h('h2', {}, 'Steps today'), h('p', { class: 'big' }, steps(n)),
      h('p', {}, 'No step target yet: pacer is still learning your usual day.'));
  }
  const top = Math.max(plan.ceiling, n) * 1.05;
  const pos = (v) => `${Math.min(100, (v / top) * 100)}%`;
  let words;
  if (n < plan.floor) words = `Below the plan's lower mark of ${steps(plan.floor)}.`;
  else if (n <= plan.ceiling) words = `Within today's plan (${steps(plan.floor)} to ${steps(plan.ceiling)}).`;
  else words = `Past the top of today's range (${steps(plan.ceiling)}): a good day, keep the rest of it light.`;
  return h('div', { class: 'card figure', id: 'steps' },
    h('h2', {}, 'Steps today'),
    h('p', { class: 'big' }, steps(n), h('small', {}, ` of ${steps(plan.quota)}`)),
    h('div', { class: 'band', role: 'img', 'aria-label': words },
      h('div', { class: 'zone', style: { left: pos(plan.floor), width: `calc(${pos(plan.ceiling)} - ${pos(plan.floor)})` } }),
      h('div', { class: 'fill', style: { width: pos(n) } }),
      h('div', { class: 'mark', style: { left: pos(plan.quota) } })),
    h('p', { class: 'meta' }, 'Green: the plan\'s range. Line: the target.'),
    h('p', {}, words));
}

function walksCard(state, rules) {
  const done = state.walks || 0;
  const planned = rules.walks_per_day;
  const dots = [];
  for (let i = 0; i < Math.max(planned, done); i++) {
    dots.push(h('span', { class: `dot ${i < done ? 'done' : ''}`, 'aria-hidden': 'true' }));
  }
  return h('div', { class: 'card figure', id: 'walks' },
    h('h2', {}, 'Walks today'),
    h('p', { class: 'big' }, `${done} of ${planned}`),
    h('div', { class: 'dots' }, dots),
    h('p', {}, done >= planned ? 'All done for today.' : 'Short and easy.'));
}

/** "9:40" as people write it (no leading zero). */
function spoken(iso) {
  const hhmm = clock(iso);
  return hhmm.startsWith('0') ? hhmm.slice(1) : hhmm;
}

/** v2 state: the waking day, the last data from the wearable and the prompts
 * left in today's budget, so the person can see why pacer is quiet. */
function dayLine(state) {
  const parts = [];
  const w = state.window;
  if (w && w.since) parts.push(w.open ? `Your day began at ${spoken(w.since)}` : `Your day closed at ${spoken(w.since)}`);
  else if (w && !w.open) parts.push('Your day has not begun yet');
  if (state.last_data) parts.push(`last data from your wearable at ${spoken(state.last_data)}`);
  else if (w) parts.push('no data from your wearable yet today');
  if (typeof state.budget_left === 'number') {
    parts.push(`${state.budget_left} reminder${state.budget_left === 1 ? '' : 's'} left today`);
  }
  if (!parts.length) return null;
  return h('p', { class: 'meta', id: 'day-line' }, `${parts.join(' · ')}.`);
}

function lastDay(day) {
  if (!day || day.period !== 'day') return null;
  const b = day.breaks || {};
  const breaks = b.prompted ? `, ${b.taken} of ${b.prompted} movement breaks taken` : '';
  return h('p', { class: 'meta', id: 'last-day' },
    `${day.final ? 'Day' : 'So far'} ${day.date}: ${steps(day.steps)} steps, ` +
    `${day.walks} walk${day.walks === 1 ? '' : 's'}${breaks}.`);
}

function planCard(state, week, day) {
  const plan = state.plan || {};
  const changes = (week?.plan_changes || []).slice(-3).reverse();
  return h('div', { class: 'card', id: 'plan' },
    h('h2', {}, 'Your plan this week'),
    h('p', {}, PHASES[plan.phase] || ''),
    plan.quota ? h('p', {}, `Daily target ${steps(plan.quota)} steps.`) : null,
    changes.length
      ? h('div', { id: 'why-changed' }, h('h3', {}, 'Why it changed'),
        h('ul', { class: 'changes' }, changes.map((c) => h('li', {},
          h('strong', {}, c.by === 'pacer' ? 'pacer' : c.by), ` (${(c.time || '').slice(0, 10)}): `, c.why))))
      : h('p', { class: 'meta' }, 'No changes to the plan last week.'),
    lastDay(day));
}

/** "I'm up", "Going to bed", "Done my exercises": one tap each, sent to
 * cmd/day and cmd/exercise; the daemon's reply is shown below them. */
function tapsCard(app, state) {
  const taps = app.taps;
  // v2 state says whether the waking window is open: then the other of up and
  // bed steps back (both stay: a tap is always believed, at any hour).
  const open = state?.window?.open;
  const quiet = new Set(['exercise', open === true ? 'up' : open === false ? 'bed' : null]);
  return h('div', { class: 'card taps', id: 'day' },
    h('div', { class: 'actions' }, DAY_TAPS.map((t) => h('button', {
      class: `btn tap${quiet.has(t.key) ? ' quiet' : ''}`,
      'data-day': t.key,
      disabled: taps.sending !== null,
      onclick: () => tap(app, t),
    }, taps.sending === t.key ? 'Sending…' : t.label))),
    taps.result ? tapReply(taps.result) : null);
}

function tapReply({ tap: t, reply }) {
  let text;
  if (reply.ok) text = `✓ ${t.done}`;
  else if (reply.timeout) text = reply.error; // kept, and sent when pacer is back
  else text = `pacer did not take it: ${reply.error}`;
  return h('p', {
    class: `reply ${reply.ok ? 'ok' : reply.timeout ? 'wait' : 'bad'}`, role: 'status',
    'data-reply': t.key,
  }, text);
}

async function tap(app, t) {
  const taps = app.taps;
  taps.sending = t.key;
  taps.result = null;
  app.render();
  // An id makes a repeat of the same tap (a resend after a lost reply) count once.
  const body = { id: `${t.key}-${Date.now().toString(36)}`, ...t.body };
  const reply = await app.command(t.kind, body);
  taps.sending = null;
  taps.result = { tap: t, reply };
  if (app.tab === 'today') app.render();
}
