// Plain-language texts (docs/pacing-rules.md sections 6 and 7). pacer does not
// diagnose; the red-flag advice is shown on the phone at once, whatever the
// daemon says or whether it is reachable.

export const LIGHTS = [
  {
    level: 'green',
    title: 'Green',
    short: 'Mild, settles quickly',
    explain: 'Mild pain that settles quickly. Keep going with your plan: it can keep growing.',
  },
  {
    level: 'amber',
    title: 'Amber',
    short: 'Moderate, settles within a day',
    explain: 'Moderate pain that settles within 24 hours. Tomorrow\'s step target is a little ' +
      'lighter, for that day only.',
  },
  {
    level: 'red',
    title: 'Red',
    short: 'Sharp or severe, getting worse, or lasting',
    explain: 'Sharp or severe pain, pain that is getting worse, or pain lasting more than a day ' +
      'or two. pacer starts a settle plan for a few days: a lighter target, movement breaks ' +
      'every 30 minutes of sitting and three short, easy walks a day.',
  },
];

// The red flags (docs/pacing-rules.md section 7), as pacer/engine/safety.py has
// them: the app asks and advises from app-config.json's "safety", which the
// server builds from that table; this copy is for when the config is missing
// (tests/pacer/app/test_app.py keeps it equal to the engine's).
export const SAFETY = {
  emergency_number: '999',
  urgent_service: 'NHS 111 or an urgent GP appointment',
  flags: [
    { name: 'saddle_numbness', tier: 'emergency',
      question: 'Numbness or tingling around your genitals, buttocks or inner thighs?',
      words: 'numbness or tingling around your genitals or buttocks' },
    { name: 'bladder_bowel_change', tier: 'emergency',
      question: 'New trouble passing urine, or loss of bladder or bowel control?',
      words: 'a change in your bladder or bowel control' },
    { name: 'both_legs', tier: 'emergency',
      question: 'Pain, tingling, weakness or numbness in both legs?',
      words: 'pain, tingling, weakness or numbness in both legs' },
    { name: 'progressive_leg_weakness', tier: 'emergency',
      question: 'Weakness in a leg that is getting worse?',
      words: 'leg weakness that is getting worse' },
    { name: 'sexual_function_change', tier: 'emergency',
      question: 'A new change in sexual function (such as no feeling)?',
      words: 'a new change in sexual function' },
    { name: 'significant_trauma', tier: 'emergency',
      question: 'Did the pain start after a serious accident or fall?',
      words: 'back pain that started after a serious accident or fall' },
    { name: 'chest_pain', tier: 'emergency',
      question: 'Chest pain?',
      words: 'chest pain' },
    { name: 'fever_or_unwell', tier: 'urgent',
      question: 'A fever, or feeling generally unwell?',
      words: 'a fever or feeling generally unwell' },
    { name: 'unexplained_weight_loss', tier: 'urgent',
      question: 'Losing weight without trying?',
      words: 'weight loss you cannot explain' },
    { name: 'severe_night_pain', tier: 'urgent',
      question: 'Pain that does not ease with rest, or is much worse at night, and is new or different?',
      words: 'pain that does not ease with rest or is much worse at night' },
    { name: 'back_shape_change', tier: 'urgent',
      question: 'A lump, swelling or change in the shape of your back?',
      words: 'a lump, swelling or change in the shape of your back' },
    { name: 'cough_strain_pain', tier: 'urgent',
      question: 'Pain made worse by sneezing, coughing or straining (such as on the toilet)?',
      words: 'pain made worse by sneezing, coughing or straining' },
    { name: 'upper_back_pain', tier: 'urgent',
      question: 'Pain coming from between your shoulder blades rather than your lower back?',
      words: 'pain coming from between your shoulder blades' },
    { name: 'history_of_cancer', tier: 'urgent',
      question: 'Have you had cancer in the past?',
      words: 'new back pain after having had cancer' },
  ],
};

export const NOT_A_DIAGNOSIS =
  'pacer cannot diagnose anything; this advice is based on what you reported.';

/** The red-flag table in force: app-config.json's, else the built-in one. */
export function safety(config) {
  const s = config && config.safety;
  const usable = s && Array.isArray(s.flags) && s.flags.length > 0 &&
    s.flags.every((f) => f && typeof f.name === 'string' && typeof f.question === 'string' &&
      (f.tier === 'emergency' || f.tier === 'urgent'));
  if (!usable) return SAFETY;
  return {
    emergency_number: typeof s.emergency_number === 'string' && dial(s.emergency_number)
      ? s.emergency_number : SAFETY.emergency_number,
    urgent_service: typeof s.urgent_service === 'string' && s.urgent_service.trim()
      ? s.urgent_service : SAFETY.urgent_service,
    flags: s.flags,
  };
}

/** The number as a tel: link may carry it: digits, and + only in front. */
export function dial(number) {
  const kept = String(number).replace(/[^0-9+]/g, '');
  return (kept.startsWith('+') ? '+' : '') + kept.replace(/\+/g, '');
}

/** The highest tier among the names (one not in the table counts as
 * emergency: when in doubt, the stronger advice, as the engine does). */
export function tierOf(names, table) {
  const tiers = new Map(table.flags.map((f) => [f.name, f.tier]));
  return names.some((n) => tiers.get(n) !== 'urgent') ? 'emergency' : 'urgent';
}

/** "a, b and c" in plain words. */
export function said(names, table) {
  const words = new Map(table.flags.map((f) => [f.name, f.words || f.name]));
  const parts = names.map((n) => words.get(n) || n.replaceAll('_', ' '));
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** The advice's first line: what to do, for the highest tier. */
export function firstLine(tier, table) {
  if (tier === 'emergency') {
    return `Call ${table.emergency_number} or go to the emergency department now. ` +
      'Do not wait for a GP or physiotherapist appointment.';
  }
  return `Get medical advice today: contact ${table.urgent_service}.`;
}

export const ACTION_LABELS = {
  done: 'Done',
  snooze: 'Snooze',
  dismiss: 'Dismiss',
  seen: 'I\'ve been seen',
  'seen-resume': 'I was seen and told I can carry on',
};

export const ACTION_DONE = {
  done: 'Marked as done.',
  snooze: 'Snoozed: pacer will ask again in 15 minutes.',
  dismiss: 'Dismissed.',
  seen: 'pacer knows you have been seen.',
  'seen-resume': 'pacer knows you were seen and told you can carry on.',
};

export const PHASES = {
  baseline: 'Finding your baseline: pacer is learning what a usual day is for you.',
  progressing: 'Building up: your target grows a little most weeks.',
  holding: 'Holding steady: the target stays where it is this week.',
  settling: 'Settling after a flare: a lighter plan for a few days.',
};

// "why" a prompt fired, from its reason (interfaces.md section 4).
export function why(prompt) {
  const r = prompt.reason || {};
  switch (prompt.kind) {
    case 'sitting_break':
      return `Sitting for ${r.bout_min} min; your limit is ${r.limit_min} min.`;
    case 'walk_reminder':
      return `Walks done ${r.walks_done}, planned by now ${r.walks_due}.`;
    case 'pace_ease_off':
      return `${r.steps} steps; about ${r.expected} expected by now.`;
    case 'ceiling_reached':
      return `${r.steps} steps; today's upper limit is ${r.ceiling}.`;
    case 'long_bout_rest':
      return `On your feet for ${r.bout_min} min.`;
    case 'floor_nudge':
      return `${r.steps} steps; the plan's lower mark is ${r.floor}.`;
    case 'red_flag':
      return ''; // its text says what was reported
    default:
      return '';
  }
}

// The Today view's one-tap buttons (docs/pacing-rules.md sections 1 and 12): what
// each sends, its label, and what the person reads once pacer has it. Calm
// and short: the person may be in pain.
export const DAY_TAPS = [
  { key: 'up', kind: 'day', body: { event: 'up' }, label: "I'm up",
    done: "Good to know you're up. pacer will pace your day from now." },
  { key: 'bed', kind: 'day', body: { event: 'bed' }, label: 'Going to bed',
    done: "Rest well. No nudges until you tell pacer you're up." },
  { key: 'exercise', kind: 'exercise', body: {}, label: 'Done my exercises',
    done: 'Well done. pacer has noted your exercises.' },
];
