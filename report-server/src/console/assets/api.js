// The console's only way to the server: the JSON API, authenticated by the HttpOnly session
// cookie (sent by the browser, unreadable from script) plus the session's CSRF token on every
// state-changing request.

let session = null;
const listeners = new Set();

/** The signed-in session (`{role, network, subject, actor, csrf_token, expires_at}`) or null. */
export function current() {
  return session;
}

/** Call `fn()` when the session ends (sign-out, expiry, revoked token). */
export function onSignedOut(fn) {
  listeners.add(fn);
}

function signedOut() {
  session = null;
  for (const fn of listeners) fn();
}

/**
 * One API call. Resolves to `{ok, status, data, code, message}`: `data` is the parsed JSON body,
 * `code`/`message` the server's stable error code and text when it failed. A 401 means the
 * session is gone: the console returns to the sign-in view.
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && session) headers['X-CSRF-Token'] = session.csrf_token;
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    return { ok: false, status: 0, data: null, code: 'network_error', message: `The server cannot be reached (${e.message}).` };
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  const out = { ok: resp.ok, status: resp.status, data, code: null, message: null };
  if (!resp.ok) {
    out.code = data?.error?.code ?? `http_${resp.status}`;
    out.message = data?.error?.message ?? `HTTP ${resp.status}`;
    if (resp.status === 401 && !path.startsWith('/console/session')) signedOut();
  }
  return out;
}

/** Load the session from the cookie (null when signed out). */
export async function loadSession() {
  const r = await api('GET', '/console/session');
  session = r.ok ? r.data : null;
  return session;
}

/** Sign in with a token; returns the API result. */
export async function signIn(token) {
  const r = await api('POST', '/console/session', { token });
  if (r.ok) session = r.data;
  return r;
}

/** Sign out (the server deletes the session and clears the cookie). */
export async function signOut() {
  const r = await api('DELETE', '/console/session');
  signedOut();
  return r;
}

/** A query string from an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Path segment escaping for ids. */
export function seg(id) {
  return encodeURIComponent(String(id));
}
