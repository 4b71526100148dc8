// A tiny DOM helper: h('button', {class: 'big', onclick: fn}, 'text', child...).
// Text is always set as text (never as HTML), so nothing from the broker can
// inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'style' && typeof value === 'object') {
      // CSSOM, not a style attribute: the page's CSP allows no inline styles
      Object.assign(el.style, value);
    } else if (key === 'class') {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export function steps(n) {
  return n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en');
}

export function clock(iso) {
  // "2026-11-23T09:40:00+11:00" -> "09:40" (the daemon's local time, as sent)
  return typeof iso === 'string' && iso.length >= 16 ? iso.slice(11, 16) : '';
}
