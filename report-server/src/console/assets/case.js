// Case view: what was verified, the reported message and its attachments, earlier messages,
// reporters and reasons, notes, the audit trail, and the actions assign / resolve / dismiss / reopen.

import { api, current, seg } from './api.js';
import { badge, dl, field, flash, h, notice, replace, select, table, time } from './dom.js';
import { actions, label } from './queue.js';

/** Media types shown inline; everything else is offered as a download only. */
const INLINE_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Decoded length of unpadded base64url. */
function b64len(s) {
  return s ? Math.floor((s.length * 3) / 4) : 0;
}

/** The text of a message (evidence contract `text`, else today's `plaintext_utf8`), or null. */
function messageText(m) {
  if ('text' in m) return m.text;
  return m.plaintext_utf8 ?? null;
}

/** Whether the reporter sent this message (contract field, else by the context's sender). */
function byReporter(m, reporter) {
  if (typeof m.sent_by_reporter === 'boolean') return m.sent_by_reporter;
  return m.context?.sender === reporter;
}

function textBlock(m) {
  const text = messageText(m);
  if (text === null || text === undefined) {
    const n = m.plaintext_b64 !== undefined ? b64len(m.plaintext_b64) : null;
    return h('p', { class: 'muted' }, m.format === 'content'
      ? 'No text (attachments only).'
      : `Not UTF-8 text${n !== null ? ` (${bytes(n)} of binary content)` : ''}.`);
  }
  // A text node: markup in the message stays text.
  return h('p', { class: 'message-text' }, text);
}

function attachmentList(m) {
  const list = m.attachments;
  if (!Array.isArray(list) || list.length === 0) return null;
  return h('ul', { class: 'attachments', 'aria-label': 'Attachments' }, list.map((a) => {
    const desc = `Attachment ${a.index + 1}: ${a.media_type}, ${bytes(a.length)}`;
    let body;
    if (a.status !== 'verified' || !a.download) {
      body = h('span', { class: 'muted' }, `${desc} — not available (${a.status})`);
    } else if (INLINE_IMAGES.includes(String(a.media_type).toLowerCase())) {
      body = h('figure', {},
        h('img', { src: a.download, alt: desc, class: 'attachment-image', loading: 'lazy', 'data-attachment': a.id }),
        h('figcaption', {}, desc, ' ', h('a', { href: a.download, download: '' }, 'Download')));
    } else {
      body = h('a', { href: a.download, download: '', 'data-attachment': a.id }, `Download ${desc}`);
    }
    return h('li', {}, body, h('div', { class: 'hint' }, 'Commitment ', h('code', {}, a.commitment || '—'), ` · ${a.status}`));
  }));
}

function verifiedPanel(ev, m) {
  const ctx = m.context || {};
  return h('section', { class: 'panel verified', 'aria-labelledby': 'verified-h' },
    h('h2', { id: 'verified-h' }, h('span', { class: 'check', 'aria-hidden': 'true' }, '✔'), ' Verified'),
    h('p', { class: 'hint' }, 'Checked by the server before it stored the report: the stamp over (commitment, context) verifies under the network’s stamping key, and the opened message reproduces the commitment.'),
    dl([
      ['Verified at', time(ev.created_at)],
      ['Stamp key id', String(m.stamp?.key_id ?? '—')],
      ['Stamp signature', m.stamp?.signature ? 'Ed25519 signature present' : 'MAC only'],
      ['Commitment', h('code', { class: 'wrap' }, m.commitment || '—')],
      ['Network', ctx.network ?? '—'],
      ['Sender', ctx.sender ?? '—'],
      ctx.room ? ['Room', ctx.room] : null,
      ctx.members
        ? ['Members', `room of ${ctx.members.count} at epoch ${ctx.members.epoch} (committed member root)`]
        : ['Recipients', (ctx.recipients || []).join(', ') || '—'],
      ev.content?.reporter_membership
        ? ['Reporter membership', `verified member #${ev.content.reporter_membership.leaf_index} of room ${ev.content.reporter_membership.room} at epoch ${ev.content.reporter_membership.epoch}`]
        : null,
      ['Sent at', time(ctx.timestamp_ms)],
      ['Message id', ctx.message_id ?? '—'],
    ], 'kv two-col'));
}

function earlierList(ev) {
  const c = ev.content;
  const msgs = [...(c.earlier || [])].sort((a, b) => (a.context?.timestamp_ms ?? 0) - (b.context?.timestamp_ms ?? 0));
  return h('section', { class: 'panel', 'aria-label': `Earlier messages supplied by ${c.reporter}` },
    h('h3', {}, 'Earlier messages supplied by ', h('span', { class: 'ident' }, c.reporter)),
    msgs.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : h('ol', { class: 'conversation' }, msgs.map((m) => {
        const mine = byReporter(m, c.reporter);
        return h('li', { class: mine ? 'by-reporter' : '' },
          h('div', { class: 'meta' },
            h('span', { class: 'ident' }, m.context?.sender ?? '?'),
            mine ? h('span', { class: 'tag' }, 'reporter') : null,
            ' · ', time(m.context?.timestamp_ms)),
          textBlock(m),
          attachmentList(m));
      })));
}

function actionPanel(c, reload) {
  const me = current();
  const status = h('div', { id: 'action-status', 'aria-live': 'polite' });
  const run = async (path, body, done) => {
    replace(status);
    const r = await api('POST', `/v1/cases/${seg(c.id)}/${path}`, body);
    if (r.ok) {
      flash(done);
      await reload();
    } else if (r.status === 409) {
      await reload(`Someone else changed this case first, so nothing was done (${r.message}). The page now shows its current state.`);
    } else {
      replace(status, notice('error', r.message));
    }
  };
  const open = c.state === 'open' || c.state === 'assigned';
  const parts = [];
  if (open) {
    if (me.role === 'moderator') {
      parts.push(h('button', { type: 'button', id: 'assign-me', onclick: () => run('assign', {}, 'Assigned to you.') },
        c.assignee === me.subject ? 'Assigned to you' : 'Assign to me'));
    } else {
      const who = h('input', { type: 'text', name: 'assignee', required: true, value: c.assignee || '' });
      const form = h('form', { class: 'inline' }, field('Assign to (moderator)', who), h('button', { type: 'submit' }, 'Assign'));
      form.addEventListener('submit', (e) => { e.preventDefault(); run('assign', { assignee: who.value.trim() }, `Assigned to ${who.value.trim()}.`); });
      parts.push(form);
    }
    const action = select({ name: 'action', id: 'resolve-action' }, [], '');
    actions().then((acts) => {
      for (const a of acts) action.append(h('option', { value: a }, label(a)));
    });
    const note = h('textarea', { name: 'note', id: 'resolve-note', rows: 3 });
    const resolve = h('form', { class: 'stack', id: 'resolve-form' },
      h('h3', {}, 'Resolve'),
      field('Action', action),
      field('Note (optional)', note),
      h('button', { type: 'submit', class: 'primary' }, 'Resolve'));
    resolve.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = { action: action.value };
      if (note.value.trim()) body.note = note.value;
      run('resolve', body, `Resolved: ${label(action.value)}.`);
    });
    parts.push(resolve);
    const reason = h('input', { type: 'text', name: 'reason', id: 'dismiss-reason' });
    const dismiss = h('form', { class: 'stack', id: 'dismiss-form' },
      h('h3', {}, 'Dismiss'),
      field('Reason (optional)', reason),
      h('button', { type: 'submit' }, 'Dismiss'));
    dismiss.addEventListener('submit', (e) => {
      e.preventDefault();
      run('dismiss', reason.value.trim() ? { reason: reason.value } : {}, 'Dismissed.');
    });
    parts.push(dismiss);
  } else {
    const reason = h('input', { type: 'text', name: 'reason', id: 'reopen-reason' });
    const reopen = h('form', { class: 'stack', id: 'reopen-form' },
      h('h3', {}, 'Reopen'),
      field('Reason (optional)', reason),
      h('button', { type: 'submit' }, 'Reopen'));
    reopen.addEventListener('submit', (e) => {
      e.preventDefault();
      run('reopen', reason.value.trim() ? { reason: reason.value } : {}, 'Reopened.');
    });
    parts.push(reopen);
  }
  return h('section', { class: 'panel actions-panel', 'aria-labelledby': 'actions-h' },
    h('h2', { id: 'actions-h' }, 'Actions'), parts, status);
}

function notesPanel(c, notes, reload) {
  const body = h('textarea', { name: 'body', id: 'note-body', rows: 3, required: true });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', id: 'note-form' }, field('Add a note', body), h('button', { type: 'submit' }, 'Add note'), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('POST', `/v1/cases/${seg(c.id)}/notes`, { body: body.value });
    if (r.ok) {
      flash('Note added.');
      await reload();
    } else {
      replace(status, notice('error', r.message));
    }
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'notes-h' },
    h('h2', { id: 'notes-h' }, 'Notes'),
    notes.length
      ? h('ol', { class: 'notes' }, notes.map((n) => h('li', {},
        h('div', { class: 'meta' }, h('span', { class: 'ident' }, n.author), ' · ', time(n.created_at)),
        h('p', { class: 'note-body' }, n.body))))
      : h('p', { class: 'muted' }, 'No notes yet.'),
    form);
}

function details(d) {
  if (!d || typeof d !== 'object') return String(d ?? '');
  return Object.entries(d).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
}

function auditPanel(entries) {
  return h('section', { class: 'panel', 'aria-labelledby': 'audit-h', id: 'audit-trail' },
    h('h2', { id: 'audit-h' }, 'Audit trail'),
    entries.length
      ? table({ text: 'Audit trail of this case' }, ['When', 'Who', 'What', 'Details'],
        entries.map((e) => [time(e.at), h('span', { class: 'ident' }, e.actor), h('code', {}, e.action), details(e.details)]), 'audit')
      : h('p', { class: 'muted' }, 'No entries.'));
}

export async function renderCase(main, id, conflict) {
  const path = `/v1/cases/${seg(id)}`;
  const [cr, nr, ar] = await Promise.all([api('GET', path), api('GET', `${path}/notes`), api('GET', `${path}/audit`)]);
  if (!cr.ok) {
    document.title = 'Not found · Franking moderator console';
    replace(main,
      h('h1', { id: 'case-missing' }, cr.status === 404 ? 'Case not found' : 'Case unavailable'),
      notice(cr.status === 404 ? 'info' : 'error',
        cr.status === 404 ? 'Not found: this case does not exist, or it belongs to a network you do not moderate.' : cr.message),
      h('p', {}, h('a', { href: '#/queue' }, 'Back to the queue')));
    main.focus();
    return;
  }
  const c = cr.data;
  document.title = `Case ${c.id} · Franking moderator console`;
  const reload = (msg) => renderCase(main, id, msg);
  const withContent = (c.evidence || []).filter((e) => e.content);
  const first = withContent[0];
  const summary = dl([
    ['State', badge(c.state)],
    ['Network', c.network],
    ['Category', c.category ?? '—'],
    ['Reports', String(c.report_count)],
    ['Sender', h('span', { class: 'ident' }, c.sender)],
    ['Sent at', time(c.message_ts)],
    ['First reported', time(c.first_reported_at)],
    ['Last reported', time(c.last_reported_at)],
    ['Assignee', c.assignee ?? '—'],
    c.resolution_action ? ['Resolution', label(c.resolution_action)] : null,
    c.closed_at ? ['Closed at', time(c.closed_at)] : null,
  ], 'kv summary');

  const evidence = first
    ? [
        h('section', { class: 'panel reported', 'aria-labelledby': 'message-h' },
          h('h2', { id: 'message-h' }, 'Reported message ', h('span', { class: 'verified-tag' }, '✔ verified')),
          h('div', { class: 'meta' }, 'From ', h('span', { class: 'ident' }, first.content.message.context?.sender ?? '?'), ' · ', time(first.content.message.context?.timestamp_ms)),
          textBlock(first.content.message),
          attachmentList(first.content.message)),
        verifiedPanel(first, first.content.message),
        h('section', { class: 'panel-group', 'aria-labelledby': 'earlier-h' },
          h('h2', { id: 'earlier-h' }, 'Earlier messages'),
          withContent.map(earlierList)),
      ]
    : notice('info', (c.evidence || []).some((e) => e.purged_at)
      ? 'The evidence of this case was purged by the retention policy.'
      : 'No evidence is stored for this case.');

  const reports = h('section', { class: 'panel', 'aria-labelledby': 'reporters-h' },
    h('h2', { id: 'reporters-h' }, 'Reporters and reasons'),
    table({ text: 'Reports of this case' }, ['Reporter', 'Reason', 'Category', 'Earlier messages', 'Received'],
      (c.reports || []).map((r) => [h('span', { class: 'ident' }, r.reporter), r.reason, r.category ?? '—', String(r.earlier_count), time(r.received_at)])));

  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/queue' }, '← Queue')),
    h('h1', {}, 'Case ', h('code', {}, c.id)),
    conflict ? notice('conflict', conflict) : null,
    h('div', { class: 'case-grid' },
      h('div', { class: 'case-main' }, summary, evidence, reports),
      h('div', { class: 'case-side' },
        actionPanel(c, reload),
        notesPanel(c, nr.ok ? nr.data.notes : [], reload))),
    auditPanel(ar.ok ? ar.data.entries : []));
}
