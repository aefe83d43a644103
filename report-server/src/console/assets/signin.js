// Sign-in view: paste an admin or moderator token once; the server answers with a session cookie.

import { signIn } from './api.js';
import { field, h, notice, replace } from './dom.js';

const MESSAGES = {
  unauthorized: 'This token is not valid (unknown, revoked or expired).',
  forbidden: 'The console accepts admin and moderator tokens only.',
  network_disabled: 'This token’s network is disabled.',
};

export function renderSignIn(main, next) {
  document.title = 'Sign in · Franking moderator console';
  const status = h('div', { id: 'signin-status', 'aria-live': 'polite' });
  const input = h('input', {
    type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-hint', id: 'token',
  });
  const form = h('form', { class: 'signin', id: 'signin-form' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste your moderator or admin token. It is exchanged for a session; the console does not keep it.'),
    field('Token', input),
    h('p', { class: 'hint', id: 'token-hint' }, 'Relay and service tokens cannot sign in.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(status);
    const r = await signIn(input.value.trim());
    input.value = '';
    if (!r.ok) {
      replace(status, notice('error', MESSAGES[r.code] || r.message));
      input.focus();
      return;
    }
    location.replace(next && next.startsWith('#/') && !next.startsWith('#/signin') ? next : '#/queue');
  });
  replace(main, form);
  input.focus();
}
