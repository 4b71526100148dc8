// The check-in screen: green, amber or red, an optional pain score, and the
// red-flag questions. A red flag shows the urgent advice at once, on the
// phone, before and whatever the daemon replies.

import { h } from './dom.js';
import { LIGHTS, RED_FLAGS, URGENT_TITLE, URGENT_TEXT } from './words.js';

export function checkinView(app) {
  const form = app.checkin;
  return h('section', { class: 'screen', 'aria-label': 'Check in' },
    form.urgent ? urgentCard(app) : null,
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
    h('fieldset', { class: 'card flags' },
      h('legend', {}, 'Since your last check-in, have you had any of these?'),
      RED_FLAGS.map(([name, question]) => h('label', { class: 'flag' },
        h('input', {
          type: 'checkbox', name, checked: form.flags.has(name),
          onchange: (e) => {
            if (e.target.checked) form.flags.add(name); else form.flags.delete(name);
            app.render();
          },
        }),
        h('span', {}, question)))),
    form.result
      ? h('p', { class: `reply ${form.result.ok ? 'ok' : 'bad'}`, role: 'status' },
        form.result.ok ? '✓ pacer has your check-in.' : `pacer did not take it: ${form.result.error}`)
      : null,
    h('button', {
      class: 'btn send', disabled: !form.level && form.flags.size === 0,
      onclick: () => send(app),
    }, form.sending ? 'Sending…' : 'Send check-in'),
  );
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

function urgentCard(app) {
  return h('div', { class: 'card urgent', role: 'alert', id: 'urgent' },
    h('h2', {}, URGENT_TITLE),
    h('p', {}, URGENT_TEXT),
    h('button', { class: 'btn quiet', onclick: () => { app.checkin.urgent = false; app.render(); } },
      'I have read this'));
}

async function send(app) {
  const form = app.checkin;
  const flags = [...form.flags];
  const body = { id: `symptom-${Date.now().toString(36)}`, level: form.level || 'red' };
  if (flags.length) {
    body.red_flags = flags;
    form.urgent = true; // at once, whatever the daemon says
  }
  if (form.pain !== null) body.pain = form.pain;
  form.sending = true;
  form.result = null;
  app.render();
  if (form.urgent) window.scrollTo(0, 0);
  const reply = await app.link.command('symptom', body);
  form.sending = false;
  form.result = reply;
  if (reply.ok) {
    form.level = null;
    form.pain = null;
    form.flags.clear();
  }
  app.render();
}
