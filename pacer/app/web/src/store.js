// What the app keeps, in this browser only (localStorage): the broker sign-in,
// the prompts seen lately and the last retained state and summaries, so the
// screens have something to show before the broker answers.

const KEY = 'pacer-app-v1';
const MAX_PROMPTS = 30;

function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || '{}') || {};
  } catch {
    return {};
  }
}

const data = load();
data.prompts = Array.isArray(data.prompts) ? data.prompts : [];
data.retained = data.retained || {};

function save() {
  try {
    localStorage.setItem(KEY, JSON.stringify(data));
  } catch {
    // storage full or disabled: the app still works for this visit
  }
}

export function settings() {
  return data.settings || null;
}

export function saveSettings(s) {
  data.settings = s;
  save();
}

export function forget() {
  localStorage.removeItem(KEY);
}

export function clientId() {
  if (!data.clientId) {
    const bytes = new Uint8Array(6);
    crypto.getRandomValues(bytes);
    data.clientId = 'app-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    save();
  }
  return data.clientId;
}

export function prompts() {
  return data.prompts;
}

export function addPrompt(p) {
  if (data.prompts.some((q) => q.prompt.id === p.prompt.id)) return false;
  data.prompts.unshift(p);
  data.prompts.length = Math.min(data.prompts.length, MAX_PROMPTS);
  save();
  return true;
}

export function updatePrompt(id, change) {
  const p = data.prompts.find((q) => q.prompt.id === id);
  if (p) {
    Object.assign(p, change);
    save();
  }
}

export function retained(name) {
  return data.retained[name] ?? null;
}

export function setRetained(name, value) {
  data.retained[name] = value;
  save();
}
