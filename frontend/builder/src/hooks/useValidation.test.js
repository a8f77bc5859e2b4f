// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook } from '@testing-library/react';
import { DEBOUNCE_MS, useValidation } from './useValidation.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** A fetch whose answers the test releases by hand, in any order. */
function manualFetch() {
  const pending = [];
  const fetch = vi.fn((url, init) => new Promise((resolve) => pending.push({ url, body: JSON.parse(init.body), resolve })));
  const answer = (i, json) => pending[i].resolve(new Response(JSON.stringify(json), { status: 200 }));
  return { fetch, pending, answer };
}

describe('useValidation', () => {
  it('waits for a pause in typing, then asks the validator once', async () => {
    vi.useFakeTimers();
    const m = manualFetch();
    vi.stubGlobal('fetch', m.fetch);
    const noop = () => {};
    const { rerender } = renderHook(({ y }) => useValidation(y, 'shop', 't', noop), { initialProps: { y: 'a' } });
    rerender({ y: 'ab' });
    await act(async () => vi.advanceTimersByTime(DEBOUNCE_MS - 50));
    rerender({ y: 'abc' });
    await act(async () => vi.advanceTimersByTime(DEBOUNCE_MS - 50));
    expect(m.fetch).not.toHaveBeenCalled();
    await act(async () => vi.advanceTimersByTime(60));
    expect(m.fetch).toHaveBeenCalledTimes(1);
    expect(m.pending[0].url).toBe('/api/v1/pipelines/validate?existing=shop');
    expect(m.pending[0].body).toEqual({ yaml: 'abc' });
  });

  it('ignores an answer that arrives after a newer text was sent', async () => {
    vi.useFakeTimers();
    const m = manualFetch();
    vi.stubGlobal('fetch', m.fetch);
    const noop = () => {};
    const { result, rerender } = renderHook(({ y }) => useValidation(y, null, 't', noop), { initialProps: { y: 'old' } });
    await act(async () => vi.advanceTimersByTime(DEBOUNCE_MS));
    rerender({ y: 'new' });
    await act(async () => vi.advanceTimersByTime(DEBOUNCE_MS));
    expect(m.pending.map((p) => p.body.yaml)).toEqual(['old', 'new']);
    expect(m.pending[1].url).toBe('/api/v1/pipelines/validate');
    await act(async () => m.answer(1, { valid: true, errors: [], columns: {}, order: [] }));
    await act(async () => m.answer(0, { valid: false, errors: [{ message: 'stale' }], columns: {}, order: [] }));
    expect(result.current[0].errors).toEqual([]);
    expect(result.current[0].pending).toBe(false);
  });
});
