// The REST API client: bearer token from the session, errors as ApiError (never swallowed).

const TOKEN_KEY = 'datasetgen.token';

/** An API failure: HTTP status and the parsed `detail`. */
export class ApiError extends Error {
  constructor(status, detail) {
    const msg = typeof detail === 'string' ? detail : detail?.message || JSON.stringify(detail);
    super(`${status}: ${msg}`);
    this.status = status;
    this.detail = detail;
  }
}

/** The token: `#token=...` once from the URL (then removed), else the session's. */
export function takeToken() {
  const m = window.location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    const url = window.location.pathname + window.location.search;
    window.history.replaceState(null, '', url);
  }
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Call the API; JSON in and out. Throws ApiError on a non-2xx answer. */
export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (exc) {
    throw new ApiError(0, `the API cannot be reached (${exc.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) throw new ApiError(res.status, data && data.detail !== undefined ? data.detail : data || res.statusText);
  return data;
}

/** The WebSocket URL of the events stream (ws/wss from the page's location). */
export function eventsUrl(pipeline, since = null) {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ pipeline });
  if (since != null) q.set('since', String(Math.floor(since)));
  return `${proto}//${window.location.host}/api/v1/events?${q}`;
}

/** The events socket's first message: the token (never in the URL, which servers log). */
export function authMessage(token) {
  return JSON.stringify({ token });
}
