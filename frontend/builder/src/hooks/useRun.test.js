// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook } from '@testing-library/react';
import { useRun } from './useRun.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** WebSocket stand-in: records sockets, lets the test open, send to and close them. */
function fakeSockets() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      sockets.push(this);
    }
    send(data) { this.sent.push(data); }
    close() { this.closed = true; }
    open() { this.onopen?.(); }
    emit(event) { this.onmessage?.({ data: JSON.stringify(event) }); }
    drop() { this.onclose?.(); }
  }
  return { FakeSocket, sockets };
}

const executeFetch = () => vi.fn(async () => new Response(JSON.stringify({ run_id: 'r1', status: 'QUEUED' }), { status: 202 }));

describe('useRun', () => {
  it('authenticates by first message, reconnects with backoff and replays since the launch', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-30T07:00:00Z'));
    const { FakeSocket, sockets } = fakeSockets();
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('fetch', executeFetch());
    const { result } = renderHook(() => useRun('secret-token', () => {}));
    await act(async () => result.current.start('shop'));
    expect(sockets).toHaveLength(1);
    const launched = Date.parse('2026-11-30T07:00:00Z') / 1000;
    expect(sockets[0].url).not.toContain('secret-token'); // servers log URLs
    expect(sockets[0].url).toContain(`pipeline=shop&since=${launched - 5}`);
    act(() => sockets[0].open());
    expect(JSON.parse(sockets[0].sent[0])).toEqual({ token: 'secret-token' });
    act(() => sockets[0].emit({ type: 'pipeline.progress', run_id: 'r1', step_id: 'a', step_status: 'SUCCESS' }));
    expect(result.current.run.steps.a.status).toBe('success');

    act(() => sockets[0].drop()); // closed before the run completed
    expect(sockets).toHaveLength(1);
    await act(async () => vi.advanceTimersByTime(500));
    expect(sockets).toHaveLength(2);
    expect(sockets[1].url).toContain(`since=${launched - 5}`);
    act(() => sockets[1].emit({ type: 'pipeline.completed', run_id: 'r1', status: 'SUCCESS' }));
    expect(result.current.run.status).toBe('SUCCESS');
    expect(sockets[1].closed).toBe(true);
    await act(async () => vi.advanceTimersByTime(60_000));
    expect(sockets).toHaveLength(2); // done: no more reconnects
  });
});
