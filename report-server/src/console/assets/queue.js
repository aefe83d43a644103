// Queue view: filters, counts per state, keyset paging, sort, bulk assign / dismiss / resolve.

import { api, current, qs, seg } from './api.js';
import { badge, field, flash, h, notice, replace, select, table, time } from './dom.js';

const STATES = ['open', 'assigned', 'resolved', 'dismissed'];
const SORTS = [['newest', 'Newest first report'], ['oldest', 'Oldest first report'], ['most_reported', 'Most reports']];

let resolutionActions = null;

/** The resolution actions, read from the server's OpenAPI document (the API is the contract). */
export async function actions() {
  if (!resolutionActions) {
    const r = await api('GET', '/v1/openapi.json');
    resolutionActions = r.ok ? r.data.components.schemas.ResolutionAction.enum : [];
  }
  return resolutionActions;
}

/** "remove_content" → "Remove content". */
export function label(code) {
  const s = String(code).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// Cursors of the pages before the current one, for "Previous page" (reset when filters change).
let previous = [];
let previousKey = '';

function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(v) {
  if (!v) return '';
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? '' : String(t);
}

/** The API query for the filters in the hash. */
function apiFilters(params) {
  const me = current();
  return {
    category: params.get('category'),
    network: me.role === 'admin' ? params.get('network') : null,
    from: params.get('from'),
    to: params.get('to'),
    assignee: params.get('mine') === '1' ? me.subject : null,
  };
}

function go(params) {
  location.hash = `#/queue${qs(params)}`;
}

export async function renderQueue(main, params) {
  const me = current();
  document.title = 'Queue · Franking moderator console';
  const filters = apiFilters(params);
  const key = JSON.stringify([filters, params.get('state'), params.get('sort')]);
  if (key !== previousKey) {
    previous = [];
    previousKey = key;
  }
  const state = params.get('state') || '';
  const sort = params.get('sort') || 'newest';
  const [list, counts, networks, acts] = await Promise.all([
    api('GET', `/v1/cases${qs({ ...filters, state, sort, cursor: params.get('cursor'), limit: 25 })}`),
    api('GET', `/v1/cases/counts${qs(filters)}`),
    me.role === 'admin' ? api('GET', '/v1/admin/networks') : Promise.resolve(null),
    actions(),
  ]);

  // Filters.
  const f = {
    state: select({ name: 'state' }, [['', 'Any state'], ...STATES.map((s) => [s, label(s)])], state),
    category: h('input', { name: 'category', type: 'text', value: params.get('category') || '', placeholder: 'any' }),
    network: networks?.ok
      ? select({ name: 'network' }, [['', 'All networks'], ...networks.data.networks.map((n) => [n.id, n.display_name === n.id ? n.id : `${n.display_name} (${n.id})`])], params.get('network') || '')
      : null,
    from: h('input', { name: 'from', type: 'datetime-local', value: toLocalInput(params.get('from')) }),
    to: h('input', { name: 'to', type: 'datetime-local', value: toLocalInput(params.get('to')) }),
    mine: h('input', { name: 'mine', type: 'checkbox', checked: params.get('mine') === '1' }),
    sort: select({ name: 'sort' }, SORTS, sort),
  };
  const form = h('form', { class: 'filters', id: 'queue-filters', 'aria-label': 'Queue filters' },
    field('State', f.state),
    field('Category', f.category),
    f.network ? field('Network', f.network) : null,
    field('First reported from', f.from),
    field('First reported before', f.to),
    h('div', { class: 'field check' }, f.mine, h('label', { for: 'f-mine' }, 'Assigned to me')),
    field('Sort', f.sort),
    h('div', { class: 'field actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('a', { href: '#/queue', class: 'button' }, 'Reset')));
  f.mine.id = 'f-mine';
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go({
      state: f.state.value,
      category: f.category.value.trim(),
      network: f.network ? f.network.value : '',
      from: fromLocalInput(f.from.value),
      to: fromLocalInput(f.to.value),
      mine: f.mine.checked ? '1' : '',
      sort: f.sort.value,
    });
  });

  // Counts per state (same filters, any state); each links to the queue filtered by that state.
  const base = Object.fromEntries([...params.entries()].filter(([k]) => k !== 'cursor' && k !== 'state'));
  const countBar = h('nav', { class: 'counts', 'aria-label': 'Cases per state', id: 'state-counts' },
    counts.ok
      ? [
          h('a', { href: `#/queue${qs(base)}`, 'aria-current': state === '' ? 'true' : null, 'data-state': 'all' },
            'All ', h('span', { class: 'count' }, String(counts.data.total))),
          STATES.map((s) => h('a', { href: `#/queue${qs({ ...base, state: s })}`, 'aria-current': state === s ? 'true' : null, 'data-state': s },
            label(s), ' ', h('span', { class: 'count' }, String(counts.data.counts[s] ?? 0)))),
        ]
      : notice('error', counts.message));

  if (!list.ok) {
    replace(main, h('h1', {}, 'Queue'), form, countBar, notice('error', `The queue cannot be loaded: ${list.message}`));
    return;
  }
  const cases = list.data.cases;

  // Bulk selection.
  const boxes = cases.map((c) => h('input', { type: 'checkbox', value: c.id, 'aria-label': `Select case ${c.id}`, class: 'select-case' }));
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all cases on this page', id: 'select-all' });
  const selectedCount = h('span', { class: 'muted', 'aria-live': 'polite' }, '0 selected');
  const refreshSelection = () => {
    const n = boxes.filter((b) => b.checked).length;
    selectedCount.textContent = `${n} selected`;
    all.checked = n > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    for (const b of bulkButtons) b.disabled = n === 0;
  };
  all.addEventListener('change', () => {
    for (const b of boxes) b.checked = all.checked;
    refreshSelection();
  });
  for (const b of boxes) b.addEventListener('change', refreshSelection);

  const actionSelect = select({ id: 'bulk-action' }, acts.map((a) => [a, label(a)]), acts[0]);
  const bulkStatus = h('div', { id: 'bulk-status', 'aria-live': 'polite' });
  const runBulk = async (verb, path, body) => {
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    const failures = [];
    for (const id of ids) {
      const r = await api('POST', `/v1/cases/${seg(id)}/${path}`, body);
      if (!r.ok) failures.push(`${id}: ${r.status === 409 ? 'changed by someone else or not allowed in its state' : r.message}`);
    }
    const done = ids.length - failures.length;
    flash(`${verb} ${done} of ${ids.length} case${ids.length === 1 ? '' : 's'}.${failures.length ? ` Not changed — ${failures.join('; ')}` : ''}`);
    await renderQueue(main, params);
  };
  const bulkButtons = [
    me.role === 'moderator'
      ? h('button', { type: 'button', id: 'bulk-assign', onclick: () => runBulk('Assigned', 'assign', {}) }, 'Assign to me')
      : null,
    h('button', { type: 'button', id: 'bulk-dismiss', onclick: () => runBulk('Dismissed', 'dismiss', {}) }, 'Dismiss'),
    h('button', { type: 'button', id: 'bulk-resolve', onclick: () => runBulk('Resolved', 'resolve', { action: actionSelect.value }) }, 'Resolve'),
  ].filter(Boolean);
  for (const b of bulkButtons) b.disabled = true;
  const bulk = h('div', { class: 'bulk', role: 'group', 'aria-label': 'Bulk actions on selected cases' },
    selectedCount, bulkButtons.slice(0, -1), field('Resolve with', actionSelect), bulkButtons[bulkButtons.length - 1], bulkStatus);

  const rows = cases.map((c, i) => [
    boxes[i],
    h('a', { href: `#/cases/${seg(c.id)}`, class: 'case-link' }, c.id),
    badge(c.state),
    c.category ?? '—',
    String(c.report_count),
    c.sender,
    me.role === 'admin' ? c.network : null,
    time(c.first_reported_at),
    c.assignee ?? '—',
  ].filter((x) => x !== null));
  const headers = [all, 'Case', 'State', 'Category', 'Reports', 'Sender', me.role === 'admin' ? 'Network' : null, 'First reported', 'Assignee'].filter((x) => x !== null);

  // Paging.
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    previous.length
      ? h('button', { type: 'button', id: 'prev-page', onclick: () => {
        const prev = previous.pop();
        go({ ...Object.fromEntries(params.entries()), cursor: prev || '' });
      } }, 'Previous page')
      : null,
    params.get('cursor') && !previous.length
      ? h('button', { type: 'button', onclick: () => go({ ...Object.fromEntries(params.entries()), cursor: '' }) }, 'First page')
      : null,
    list.data.next_cursor
      ? h('button', { type: 'button', id: 'next-page', onclick: () => {
        previous.push(params.get('cursor') || '');
        go({ ...Object.fromEntries(params.entries()), cursor: list.data.next_cursor });
      } }, 'Next page')
      : null);

  replace(main,
    h('h1', {}, 'Queue'),
    form,
    countBar,
    cases.length
      ? [bulk, table({ text: 'Cases' }, headers, rows, 'cases'), pager]
      : [h('p', { class: 'empty', id: 'queue-empty' }, 'No cases match these filters.'), pager]);
}
