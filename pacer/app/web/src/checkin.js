// The check-in screen: green, amber or red, an optional pain score, and the
// red-flag questions in two groups, the emergency ones first. A red flag
// shows the advice at once, on the phone, before and whatever the daemon
// replies: for an emergency, call the emergency number now.

import { h } from './dom.js';
import {
  LIGHTS, NOT_A_DIAGNOSIS, dial, firstLine, safety, said, tierOf,
} from './words.js';

const GROUPS = [
  ['emergency', 'Signs that need help straight away'],
  ['urgent', 'Signs that need a doctor today'],
];

export function checkinView(app) {
  const form = app.checkin;
  const table = safety(app.config);
  const ticked = [...form.flags];
  const emergency = ticked.length > 0 && tierOf(ticked, table) === 'emergency';
  return h('section', { class: 'screen checkin', 'aria-label': 'Check in' },
    form.advice ? adviceCard(app, table) : null,
    form.advice ? result(form) : null,
    h('h2', { class: 'ask' }, 'How is your back right now?'),
    h('div', { class: 'lights', role: 'radiogroup' },
      LIGHTS.map((l) => h('button', {
        class: `light light-${l.level} ${form.level === l.level ? 'chosen' : ''}`,
        role: 'radio', 'aria-checked': form.level === l.level ? 'true' : 'false',
        'data-level': l.level,
        onclick: () => { form.level = l.level; app.render(); },
      }, h('strong', {}, l.title), h('span', {}, l.short)))),
    form.level
      ? h('p', { class: 'explain' }, LIGHTS.find((l) => l.level === form.level).explain)
      : null,
    painBlock(app),
    h('h2', { class: 'ask', id: 'flags-ask' }, 'Since your last check-in, have you had any of these?'),
    h('p', { class: 'hint' }, 'Tick any that you have. Leave them empty if none.'),
    GROUPS.map(([tier, legend]) => h('fieldset', {
      class: `card flags flags-${tier}`, 'data-tier': tier,
    },
    h('legend', {}, legend),
    table.flags.filter((f) => f.tier === tier).map((f) => h('label', { class: 'flag' },
      h('input', {
        type: 'checkbox', name: f.name, checked: form.flags.has(f.name),
        onchange: (e) => {
          if (e.target.checked) form.flags.add(f.name); else form.flags.delete(f.name);
          app.render();
        },
      }),
      h('span', {}, f.question))))),
    form.advice ? null : result(form),
    // Always in reach, above the screen's tabs, however far down the questions go.
    h('div', { class: 'sendbar' },
      emergency
        ? h('a', { class: 'btn call', href: `tel:${dial(table.emergency_number)}` },
          `Call ${table.emergency_number}`)
        : null,
      h('button', {
        class: 'btn send', disabled: form.sending || (!form.level && form.flags.size === 0),
        onclick: () => send(app),
      }, form.sending ? 'Sending…' : 'Send check-in')),
  );
}

function result(form) {
  if (!form.result) return null;
  return h('p', { class: `reply ${form.result.ok ? 'ok' : 'bad'}`, role: 'status' },
    form.result.ok ? '✓ pacer has your check-in.' : `pacer did not take it: ${form.result.error}`);
}

function painBlock(app) {
  const form = app.checkin;
  if (form.pain === null) {
    return h('button', {
      class: 'btn quiet add-pain', onclick: () => { form.pain = 5; app.render(); },
    }, 'Add a pain score (0-10)');
  }
  return h('div', { class: 'card pain' },
    h('label', { for: 'pain' }, 'Pain now: ', h('output', { id: 'pain-value' }, String(form.pain)),
      ' out of 10'),
    h('input', {
      id: 'pain', type: 'range', min: 0, max: 10, step: 1, value: form.pain,
      oninput: (e) => {
        form.pain = Number(e.target.value);
        document.getElementById('pain-value').textContent = String(form.pain);
      },
    }),
    h('div', { class: 'scale' }, h('span', {}, '0 none'), h('span', {}, '10 worst')),
    h('button', { class: 'btn quiet', onclick: () => { form.pain = null; app.render(); } },
      'No pain score'));
}

/** What to do first, then what was reported, then that pacer cannot diagnose. */
export function advice(tier, flags, table) {
  const number = table.emergency_number;
  const call = (label) => h('a', { class: 'btn call', href: `tel:${dial(number)}` }, label);
  return [
    h('p', { class: 'first' }, firstLine(tier, table)),
    tier === 'emergency'
      ? call(`Call ${number}`)
      : h('p', {}, 'If it gets much worse, call ',
        h('a', { href: `tel:${dial(number)}` }, number), '.'),
    flags.length ? h('p', { class: 'reported' }, `You reported ${said(flags, table)}.`) : null,
    h('p', { class: 'meta' }, NOT_A_DIAGNOSIS),
  ];
}

function adviceCard(app, table) {
  const { tier, flags } = app.checkin.advice;
  return h('div', {
    class: `card advice advice-${tier}`, role: 'alert', id: 'advice', 'data-tier': tier,
  },
  advice(tier, flags, table),
  h('button', {
    class: 'btn quiet', onclick: () => { app.checkin.advice = null; app.render(); },
  }, 'I have read this'));
}

async function send(app) {
  const form = app.checkin;
  const flags = [...form.flags];
  const body = { id: `symptom-${Date.now().toString(36)}`, level: form.level || 'red' };
  if (flags.length) {
    body.red_flags = flags;
    // At once, before and whatever the daemon says.
    form.advice = { tier: tierOf(flags, safety(app.config)), flags };
  }
  if (form.pain !== null) body.pain = form.pain;
  form.sending = true;
  form.result = null;
  app.render();
  if (flags.length) window.scrollTo(0, 0);
  const reply = await app.command('symptom', body);
  form.sending = false;
  form.result = reply;
  if (reply.ok) {
    form.level = null;
    form.pain = null;
    form.flags.clear();
  }
  app.render();
}
