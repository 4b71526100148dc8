// pacer's phone app: prompts, check-ins and today's picture, straight from
// the person's own broker. Nothing is loaded from anywhere else.

import { h, replace } from './dom.js';
import { Link } from './link.js';
import { appTopics } from './topics.js';
import * as store from './store.js';
import { promptsView } from './prompts.js';
import { checkinView } from './checkin.js';
import { todayView } from './today.js';
import { settingsView } from './settings.js';

const TABS = [
  ['prompts', 'Prompts', promptsView],
  ['checkin', 'Check in', checkinView],
  ['today', 'Today', todayView],
  ['settings', 'Settings', settingsView],
];

const app = {
  config: {},
  link: null,
  tab: 'prompts',
  status: { status: 'offline', detail: '' },
  daemon: null,
  checkin: { level: null, pain: null, flags: new Set(), advice: null, result: null, sending: false },
  taps: { sending: null, result: null }, // the Today view's one-tap commands

  show(tab) {
    this.tab = tab;
    this.render();
    window.scrollTo(0, 0);
  },

  render() {
    const view = TABS.find(([t]) => t === this.tab)[2];
    replace(document.getElementById('main'), view(this));
    renderHeader();
    for (const b of document.querySelectorAll('nav button')) {
      b.setAttribute('aria-current', b.dataset.tab === this.tab ? 'page' : 'false');
    }
  },

  toast(text) {
    const t = document.getElementById('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(this._toastTimer);
    this._toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
  },

  connect() {
    const s = store.settings();
    if (!s) return;
    if (this.link) this.link.close();
    this.link = null;
    const clientId = store.clientId();
    const topics = appTopics(this.config, s.user, clientId);
    if (!topics) {
      this.status = { status: 'error', detail: 'app-config.json has no topics: is this page served by pacer app?' };
      renderHeader();
      return;
    }
    this.link = new Link({ url: s.url, user: s.user, password: s.password, clientId, topics });
    this.link.addEventListener('status', (e) => { this.status = e.detail; renderHeader(); });
    this.link.addEventListener('message', (e) => onMessage(e.detail));
  },

  /** Send cmd/<kind>; the daemon's reply, or why there is none. */
  command(kind, body) {
    if (!this.link) return Promise.resolve({ ok: false, error: 'not connected: sign in first' });
    return this.link.command(kind, body);
  },

  async askNotifications() {
    if ('Notification' in window) await Notification.requestPermission();
    this.render();
  },
};

function onMessage({ name, body, expiresAt }) {
  if (name === 'prompt') {
    if (!body || body.type !== 'prompt') return;
    if (!store.addPrompt({ prompt: body, expiresAt, answer: null, reply: null })) return;
    notify(body);
    if (app.tab !== 'prompts') app.toast(`New from pacer: ${body.title}`);
  } else if (name === 'status') {
    app.daemon = body;
  } else {
    store.setRetained(name, body || null);
  }
  // Only the screens that show broker data are redrawn: a form being filled
  // in keeps what was typed.
  if (app.tab === 'prompts' || app.tab === 'today') app.render();
  else renderHeader();
}

async function notify(prompt) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible') return;
  const options = { body: prompt.text, tag: prompt.id, requireInteraction: prompt.level === 'urgent', icon: 'icon-192.png' };
  try {
    const reg = await navigator.serviceWorker?.ready;
    if (reg) await reg.showNotification(prompt.title, options);
    else new Notification(prompt.title, options);
  } catch {
    // notifications are a bonus: the prompt is on the screen anyway
  }
}

function renderHeader() {
  const el = document.getElementById('conn');
  const { status, detail } = app.status;
  let text = { online: 'Connected', connecting: 'Connecting…', offline: 'Offline', error: 'Cannot connect' }[status] || status;
  if (status === 'online' && app.daemon === 'offline') text = 'Connected · pacer is offline';
  el.textContent = text;
  el.title = detail || '';
  el.className = `conn conn-${status}${app.daemon === 'offline' ? ' daemon-off' : ''}`;
}

async function start() {
  try {
    app.config = await (await fetch('app-config.json', { cache: 'no-store' })).json();
  } catch {
    app.config = {};
  }
  const nav = document.querySelector('nav');
  replace(nav, TABS.map(([t, label]) => h('button', { 'data-tab': t, onclick: () => app.show(t) }, label)));
  if (!store.settings()) app.tab = 'settings';
  else app.connect();
  app.render();
  setInterval(() => { if (app.tab === 'prompts') app.render(); }, 30000); // expiries
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js').catch(() => {});
  }
}

window.pacerApp = app; // for the browser tests
start();
