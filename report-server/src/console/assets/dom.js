// DOM helpers. Every piece of data reaches the page as a text node or an attribute value
// (textContent / setAttribute); nothing is ever parsed as HTML, so user-supplied strings such as
// `<script>alert(1)</script>` render as text.

/**
 * Create an element. `attrs`: attribute values (strings, set with setAttribute; `true` sets an
 * empty attribute; null/false/undefined skip it), `on*` functions become event listeners.
 * Children: nodes, strings (text nodes), numbers, null/false (skipped), or arrays of these.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children (see `h`). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A time (ms since the epoch) as local date and time, or an em dash. */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return String(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `<time>` element for ms since the epoch. */
export function time(ms) {
  if (ms === null || ms === undefined) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: new Date(Number(ms)).toISOString() }, fmtTime(ms));
}

/** A labelled form control: `<label for=id>text</label>` + control. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('span', { class: 'hint' }, hint) : null);
}

/** `<select>` with (value, label) options; `selected` is the selected value. */
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([value, label]) =>
    h('option', { value, selected: value === (selected ?? '') }, label)));
}

/** A state badge. */
export function badge(state) {
  return h('span', { class: `badge badge-${String(state).replace(/[^a-z_]/g, '')}` }, String(state));
}

/** A definition list from [term, value] pairs (values: nodes or strings). */
export function dl(pairs, cls) {
  return h('dl', { class: cls || 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** A table with a caption, header cells and rows (arrays of cells: nodes or strings). */
export function table(caption, headers, rows, cls) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: cls || '' },
      h('caption', { class: caption.visible ? '' : 'sr-only' }, caption.text),
      h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

/** A message box for errors, conflicts and notices. */
export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, children);
}

/** Show a short message in the live region at the top of the page (empty text hides it). */
export function flash(text) {
  const el = document.getElementById('flash');
  el.textContent = text || '';
  el.hidden = !text;
}
