// Plain-language texts (pacing-rules.md sections 6 and 7). pacer does not
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

// The red-flag questions, by their wire names (interfaces.md, cmd/symptom).
export const RED_FLAGS = [
  ['bladder_bowel_change', 'New trouble passing urine, or with control of your bladder or bowels?'],
  ['saddle_numbness', 'Numbness or tingling around your bottom, genitals or inner thighs?'],
  ['progressive_leg_weakness', 'Weakness in a leg or foot that is getting worse (tripping, foot slapping)?'],
  ['both_legs', 'Pain, numbness or pins and needles in both legs?'],
  ['fever_or_unwell', 'A fever, or feeling generally unwell, along with the back pain?'],
  ['unexplained_weight_loss', 'Losing weight without trying?'],
  ['severe_night_pain', 'Severe pain at night that does not ease whatever position you lie in?'],
  ['significant_trauma', 'Did the pain start after a fall, an accident or another hard knock?'],
];

export const URGENT_TITLE = 'Please seek urgent medical help';
export const URGENT_TEXT =
  'With back pain, what you ticked needs urgent medical attention. Contact your GP today ' +
  'for an urgent appointment. If you cannot, or it is getting worse, go to an emergency ' +
  'department or call emergency services. Do not wait for a reply from pacer. ' +
  'pacer cannot diagnose anything; this advice is based on what you reported.';

export const ACTION_LABELS = {
  done: 'Done',
  snooze: 'Snooze',
  dismiss: 'Dismiss',
};

export const ACTION_DONE = {
  done: 'Marked as done.',
  snooze: 'Snoozed: pacer will ask again in 15 minutes.',
  dismiss: 'Dismissed.',
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
      return `You reported: ${(r.flags || []).join(', ').replaceAll('_', ' ')}.`;
    default:
      return '';
  }
}
