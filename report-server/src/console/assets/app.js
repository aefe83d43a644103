// Console entry point: session check, hash routing, top bar.
//
// Routes: #/signin, #/queue?<filters>, #/cases/<id>, #/admin/<networks|tokens|retention|audit>.

import { current, loadSession, onSignedOut, signOut } from './api.js';
import { flash, replace } from './dom.js';
import { renderSignIn } from './signin.js';
import { renderQueue } from './queue.js';
import { renderCase } from './case.js';
import { renderAdmin } from './admin.js';

const main = () => document.getElementById('main');

/** Parse the hash into [path segments, URLSearchParams]. */
export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/queue';
  const [path, query] = raw.split('?', 2);
  return [path.split('/').filter(Boolean).map(decodeURIComponent), new URLSearchParams(query || '')];
}

function renderChrome() {
  const s = current();
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const out = document.getElementById('sign-out');
  nav.hidden = !s;
  out.hidden = !s;
  who.textContent = s ? `${s.role === 'admin' ? 'Admin' : 'Moderator'} ${s.subject}${s.network ? ` · ${s.network}` : ''}` : '';
  for (const a of nav.querySelectorAll('[data-admin-only]')) a.hidden = !(s && s.role === 'admin');
  const [segs] = parseHash();
  for (const a of nav.querySelectorAll('a[data-nav]')) {
    const active = a.dataset.nav === (segs[0] === 'cases' ? 'queue' : segs[0]);
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let routing = 0;

async function route() {
  const ticket = ++routing;
  const [segs, params] = parseHash();
  const el = main();
  if (!current() && segs[0] !== 'signin') {
    await loadSession();
    if (ticket !== routing) return;
  }
  if (!current()) {
    const next = segs[0] === 'signin' ? (params.get('next') || '') : location.hash;
    if (segs[0] !== 'signin') {
      location.replace(`#/signin${next ? `?next=${encodeURIComponent(next)}` : ''}`);
      return;
    }
    renderChrome();
    renderSignIn(el, next);
    return;
  }
  renderChrome();
  const view = segs[0];
  if (view === 'signin') {
    location.replace(params.get('next') || '#/queue');
    return;
  }
  document.title = 'Franking moderator console';
  if (view === 'queue') await renderQueue(el, params);
  else if (view === 'cases' && segs[1]) await renderCase(el, segs[1]);
  else if (view === 'admin' && current().role === 'admin') await renderAdmin(el, segs[1] || 'networks', params);
  else replace(el, 'Page not found.');
}

window.addEventListener('hashchange', () => {
  flash('');
  route();
});

onSignedOut(() => {
  renderChrome();
  if (!location.hash.startsWith('#/signin')) {
    location.replace(`#/signin?next=${encodeURIComponent(location.hash)}`);
  }
});

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('sign-out').addEventListener('click', async () => {
    await signOut();
    flash('Signed out.');
  });
  route();
});
