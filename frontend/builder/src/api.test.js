// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, api, authMessage, eventsUrl, takeToken } from './api.js';

afterEach(() => {
  sessionStorage.clear();
  window.history.replaceState(null, '', '/');
  vi.unstubAllGlobals();
});

describe('takeToken', () => {
  it('takes #token= once into the session and removes it from the URL', () => {
    window.history.replaceState(null, '', '/builder?pipeline=p#token=abc.def');
    expect(takeToken()).toBe('abc.def');
    expect(window.location.hash).toBe('');
    expect(window.location.search).toBe('?pipeline=p');
    expect(sessionStorage.getItem('datasetgen.token')).toBe('abc.def');
    expect(takeToken()).toBe('abc.def');
  });
  it('is empty without a token', () => {
    expect(takeToken()).toBe('');
  });
});

describe('api', () => {
  it('sends the bearer token and raises ApiError with the detail', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ detail: { message: 'bad', errors: [] } }), { status: 422 }));
    vi.stubGlobal('fetch', fetch);
    const err = await api('/api/v1/pipelines', { method: 'POST', body: { yaml: 'x' }, token: 't' }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.detail).toEqual({ message: 'bad', errors: [] });
    const [, init] = fetch.mock.calls[0];
    expect(init.headers.Authorization).toBe('Bearer t');
    expect(JSON.parse(init.body)).toEqual({ yaml: 'x' });
  });
  it('builds the events URL from the page location', () => {
    expect(eventsUrl('shop')).toBe(`ws://${window.location.host}/api/v1/events?pipeline=shop`);
    expect(eventsUrl('shop', 1700000000.7)).toBe(`ws://${window.location.host}/api/v1/events?pipeline=shop&since=1700000000`);
    expect(JSON.parse(authMessage('t'))).toEqual({ token: 't' });
  });
});
