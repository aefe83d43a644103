// Admin views: networks and policies, stamping keys (rotate, retire), tokens (issue with show-once,
// revoke), the retention run and the audit log.

import { api, qs, seg } from './api.js';
import { badge, dl, field, flash, h, notice, replace, select, table, time } from './dom.js';

const TABS = [['networks', 'Networks & keys'], ['tokens', 'Tokens'], ['retention', 'Retention'], ['audit', 'Audit log']];

const POLICY_FIELDS = [
  ['window_ms', 'Reporting window (ms)'],
  ['max_clock_skew_ms', 'Max clock skew (ms)'],
  ['key_grace_ms', 'Retired-key grace (ms)'],
  ['evidence_retention_ms', 'Evidence retention after close (ms)'],
  ['rate_window_ms', 'Rate-limit window (ms)'],
  ['reporter_rate_limit', 'Reports per reporter per window'],
  ['network_rate_limit', 'Reports per network per window'],
];

function tabs(active) {
  return h('nav', { class: 'tabs', 'aria-label': 'Admin sections' },
    TABS.map(([id, text]) => h('a', { href: `#/admin/${id}`, 'aria-current': id === active ? 'page' : null }, text)));
}

function status() {
  return h('div', { 'aria-live': 'polite', class: 'status' });
}

function fail(el, r) {
  replace(el, notice(r.status === 409 ? 'conflict' : 'error', r.message));
}

async function networks(main, params, rerender) {
  const list = await api('GET', '/v1/admin/networks');
  if (!list.ok) return notice('error', list.message);
  const chosen = params.get('network') || list.data.networks[0]?.id;

  const id = h('input', { type: 'text', name: 'id', required: true });
  const name = h('input', { type: 'text', name: 'display_name' });
  const createStatus = status();
  const create = h('form', { class: 'inline', id: 'network-create' },
    field('New network id', id), field('Display name', name), h('button', { type: 'submit' }, 'Create network'), createStatus);
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { id: id.value.trim() };
    if (name.value.trim()) body.display_name = name.value.trim();
    const r = await api('POST', '/v1/admin/networks', body);
    if (!r.ok) return fail(createStatus, r);
    flash(`Network ${body.id} created with stamping key 1.`);
    location.hash = `#/admin/networks${qs({ network: body.id })}`;
  });

  const rows = list.data.networks.map((n) => [
    h('a', { href: `#/admin/networks${qs({ network: n.id })}`, 'aria-current': n.id === chosen ? 'true' : null }, n.id),
    n.display_name,
    n.disabled_at ? badge('disabled') : badge('active'),
    time(n.created_at),
  ]);
  const parts = [table({ text: 'Networks', visible: true }, ['Network', 'Display name', 'Status', 'Created'], rows), create];
  if (chosen) parts.push(await networkDetail(chosen, rerender));
  return parts;
}

async function networkDetail(netId, rerender) {
  const r = await api('GET', `/v1/admin/networks/${seg(netId)}`);
  if (!r.ok) return notice('error', r.message);
  const n = r.data;
  const st = status();

  const toggle = h('button', { type: 'button', id: 'network-toggle', onclick: async () => {
    const res = await api('PATCH', `/v1/admin/networks/${seg(netId)}`, { disabled: !n.disabled_at });
    if (!res.ok) return fail(st, res);
    flash(`Network ${netId} ${n.disabled_at ? 'enabled' : 'disabled'}.`);
    rerender();
  } }, n.disabled_at ? 'Enable network' : 'Disable network');

  // Policy.
  const inputs = POLICY_FIELDS.map(([k]) => h('input', { type: 'number', min: 0, step: 1, name: k, value: String(n.policy[k]), required: true }));
  const cats = h('input', { type: 'text', name: 'categories', value: (n.policy.categories || []).join(', ') });
  const policyStatus = status();
  const policy = h('form', { class: 'grid-form', id: 'policy-form' },
    POLICY_FIELDS.map(([, text], i) => field(text, inputs[i])),
    field('Categories (comma-separated; empty = any)', cats),
    h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Save policy')),
    policyStatus);
  policy.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    POLICY_FIELDS.forEach(([k], i) => { body[k] = Number(inputs[i].value); });
    body.categories = cats.value.split(',').map((s) => s.trim()).filter(Boolean);
    const res = await api('PUT', `/v1/admin/networks/${seg(netId)}/policy`, body);
    if (!res.ok) return fail(policyStatus, res);
    flash(`Policy of ${netId} saved.`);
    rerender();
  });

  // Keys.
  const keyStatus = status();
  const keyRows = n.keys.map((k) => {
    const immediate = h('input', { type: 'checkbox', 'aria-label': `Stop verifying key ${k.key_id} now` });
    const retire = h('button', { type: 'button', onclick: async () => {
      const res = await api('POST', `/v1/admin/networks/${seg(netId)}/keys/${seg(k.key_id)}/retire`, { immediate: immediate.checked });
      if (!res.ok) return fail(keyStatus, res);
      flash(`Key ${k.key_id} retired${immediate.checked ? ' (no longer verifies)' : ''}.`);
      rerender();
    } }, 'Retire');
    let action;
    if (k.status === 'current') action = h('span', { class: 'muted' }, 'rotate to retire');
    else if (k.stopped_at) action = h('span', { class: 'muted' }, 'verifies nothing');
    else action = h('span', { class: 'inline' }, immediate, ' now ', retire);
    return [String(k.key_id), badge(k.status), time(k.created_at), time(k.retired_at), time(k.stopped_at), action];
  });
  const rotate = h('button', { type: 'button', id: 'rotate-key', onclick: async () => {
    const res = await api('POST', `/v1/admin/networks/${seg(netId)}/keys/rotate`, {});
    if (!res.ok) return fail(keyStatus, res);
    flash(`New current key ${res.data.key_id} for ${netId}.`);
    rerender();
  } }, 'Rotate stamping key');

  return h('section', { class: 'panel', 'aria-labelledby': 'net-h' },
    h('h2', { id: 'net-h' }, 'Network ', h('code', {}, n.id)),
    dl([['Display name', n.display_name], ['Status', n.disabled_at ? `disabled since ${new Date(n.disabled_at).toLocaleString()}` : 'active'], ['Created', time(n.created_at)]]),
    h('p', {}, toggle), st,
    h('h3', {}, 'Policy'), policy,
    h('h3', {}, 'Stamping keys'),
    table({ text: `Stamping keys of ${n.id}` }, ['Key id', 'Status', 'Created', 'Retired', 'Stopped verifying', 'Retire'], keyRows),
    h('p', {}, rotate), keyStatus);
}

async function tokens(main, params, rerender) {
  const [list, nets] = await Promise.all([api('GET', `/v1/admin/tokens${qs({ network: params.get('network'), role: params.get('role') })}`), api('GET', '/v1/admin/networks')]);
  if (!list.ok) return notice('error', list.message);
  const netOptions = nets.ok ? nets.data.networks.map((n) => [n.id, n.id]) : [];
  const role = select({ name: 'role' }, [['moderator', 'Moderator'], ['relay', 'Relay'], ['service', 'Service'], ['admin', 'Admin']], 'moderator');
  const network = select({ name: 'network' }, [['', '(none — admin)'], ...netOptions], netOptions[0]?.[0] ?? '');
  const subject = h('input', { type: 'text', name: 'subject', required: true });
  const days = h('input', { type: 'number', name: 'expires_days', min: 1, step: 1 });
  const issued = h('div', { id: 'issued-token', 'aria-live': 'polite' });
  const form = h('form', { class: 'inline', id: 'token-issue' },
    field('Role', role), field('Network', network), field('Subject (holder name)', subject), field('Expires in days (optional)', days),
    h('button', { type: 'submit', class: 'primary' }, 'Issue token'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { role: role.value, subject: subject.value.trim() };
    if (role.value !== 'admin') body.network = network.value;
    if (days.value) body.expires_in_ms = Number(days.value) * 86400000;
    const r = await api('POST', '/v1/admin/tokens', body);
    if (!r.ok) return fail(issued, r);
    // Shown once: the secret is in this element only until the admin dismisses it or leaves.
    const secret = h('input', { type: 'text', readonly: true, value: r.data.token, class: 'secret', id: 'issued-secret', 'aria-label': 'The new token' });
    replace(issued, h('div', { class: 'notice notice-success', role: 'status' },
      h('p', {}, `Token for ${r.data.role} ${r.data.subject}${r.data.network ? `@${r.data.network}` : ''} — shown once. Copy it now; it cannot be shown again.`),
      secret,
      h('button', { type: 'button', onclick: () => { replace(issued); rerender(); } }, 'Done, I have saved it')));
    secret.focus();
    secret.select();
  });

  const st = status();
  const rows = list.data.tokens.map((t) => [
    h('code', {}, t.id), t.role, t.network ?? '—', h('span', { class: 'ident' }, t.subject), time(t.created_at), time(t.expires_at),
    t.revoked_at ? h('span', {}, 'revoked ', time(t.revoked_at))
      : h('button', { type: 'button', 'data-token': t.id, onclick: async () => {
        if (!window.confirm(`Revoke token ${t.id} (${t.role} ${t.subject})? Its holder and console sessions lose access at once.`)) return;
        const r = await api('DELETE', `/v1/admin/tokens/${seg(t.id)}`);
        if (!r.ok) return fail(st, r);
        flash(`Token ${t.id} revoked.`);
        rerender();
      } }, 'Revoke'),
  ]);
  return [h('h2', {}, 'Issue a token'), form, issued,
    h('h2', {}, 'Tokens'), st,
    table({ text: 'Tokens (never their secrets)' }, ['Id', 'Role', 'Network', 'Subject', 'Created', 'Expires', 'Revoke'], rows)];
}

function retention() {
  const out = h('div', { id: 'retention-result', 'aria-live': 'polite' });
  const run = h('button', { type: 'button', class: 'primary', id: 'retention-run', onclick: async () => {
    run.disabled = true;
    const r = await api('POST', '/v1/admin/retention/run', {});
    run.disabled = false;
    if (!r.ok) return fail(out, r);
    replace(out, notice('success', `Purged the evidence of ${r.data.cases} closed case(s) (${r.data.evidence_purged} evidence row(s)).`));
  } }, 'Run retention now');
  return [h('h2', {}, 'Evidence retention'),
    h('p', {}, 'Deletes the evidence of closed cases whose network retention period has passed. It also runs periodically on its own.'),
    run, out];
}

async function audit(main, params) {
  const q = { network: params.get('network'), action: params.get('action'), cursor: params.get('cursor'), limit: 50 };
  const r = await api('GET', `/v1/admin/audit${qs(q)}`);
  const network = h('input', { type: 'text', name: 'network', value: params.get('network') || '' });
  const action = h('input', { type: 'text', name: 'action', value: params.get('action') || '', placeholder: 'e.g. case.resolve' });
  const form = h('form', { class: 'inline', id: 'audit-filters' }, field('Network', network), field('Action', action), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/admin/audit${qs({ network: network.value.trim(), action: action.value.trim() })}`;
  });
  if (!r.ok) return [form, notice('error', r.message)];
  const rows = r.data.entries.map((e) => [time(e.at), h('span', { class: 'ident' }, e.actor), h('code', {}, e.action), e.target, e.network ?? '—',
    Object.entries(e.details || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')]);
  return [h('h2', {}, 'Audit log'), form,
    table({ text: 'Audit log, newest first' }, ['When', 'Who', 'What', 'Target', 'Network', 'Details'], rows, 'audit'),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      params.get('cursor') ? h('a', { class: 'button', href: `#/admin/audit${qs({ ...q, cursor: '', limit: '' })}` }, 'Newest') : null,
      r.data.next_cursor ? h('a', { class: 'button', href: `#/admin/audit${qs({ ...q, cursor: r.data.next_cursor, limit: '' })}` }, 'Older entries') : null)];
}

export async function renderAdmin(main, tab, params) {
  document.title = 'Admin · Franking moderator console';
  const rerender = () => renderAdmin(main, tab, params);
  let body;
  if (tab === 'networks') body = await networks(main, params, rerender);
  else if (tab === 'tokens') body = await tokens(main, params, rerender);
  else if (tab === 'retention') body = retention();
  else if (tab === 'audit') body = await audit(main, params);
  else body = notice('error', 'No such admin section.');
  replace(main, h('h1', {}, 'Admin'), tabs(tab), body);
}
