// Sign-in to the person's broker, asked once and kept in this browser only.

import { h } from './dom.js';
import * as store from './store.js';

export function suggestedUrl(config) {
  if (config.broker_url) return config.broker_url;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.hostname}:8884`;
}

export function settingsView(app) {
  const s = store.settings() || { url: suggestedUrl(app.config), user: app.config.user || '' };
  const field = (id, label, attrs) => h('label', { class: 'field', for: id }, label,
    h('input', { id, name: id, ...attrs }));
  return h('section', { class: 'screen', 'aria-label': 'Sign in' },
    h('form', {
      class: 'card', id: 'signin',
      onsubmit: (e) => {
        e.preventDefault();
        const f = e.target;
        store.saveSettings({ url: f.url.value.trim(), user: f.user.value.trim(), password: f.password.value });
        app.connect();
        app.show('prompts');
      },
    },
    h('h2', {}, 'Connect to pacer'),
    h('p', {}, 'Your broker\'s address, your user name and password. They stay on this phone.'),
    field('url', 'Broker address', { type: 'url', required: true, value: s.url, autocomplete: 'url' }),
    field('user', 'User name', { required: true, value: s.user, autocomplete: 'username', autocapitalize: 'none' }),
    field('password', 'Password', { type: 'password', value: s.password || '', autocomplete: 'current-password' }),
    h('button', { class: 'btn send', type: 'submit' }, 'Connect')),
    h('div', { class: 'card' },
      h('h3', {}, 'Notifications'),
      h('p', {}, 'Allow them to hear about a prompt while the app is in the background.'),
      h('button', { class: 'btn quiet', onclick: () => app.askNotifications() },
        notificationState())),
    store.settings()
      ? h('button', { class: 'btn quiet', onclick: () => { store.forget(); location.reload(); } },
        'Sign out and forget this phone\'s data')
      : null);
}

function notificationState() {
  if (!('Notification' in window)) return 'Not available in this browser';
  if (Notification.permission === 'granted') return 'Notifications are on';
  if (Notification.permission === 'denied') return 'Blocked: allow them in the browser settings';
  return 'Turn on notifications';
}
