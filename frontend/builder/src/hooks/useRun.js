import { useCallback, useEffect, useRef, useState } from 'react';
import { api, authMessage, eventsUrl } from '../api.js';
import { initialRun, reduceRunEvent } from '../lib/runEvents.js';

const MAX_RECONNECTS = 5; // with backoff 0.5, 1, 2, 4, 8 s, then the run's status is asked

/**
 * Launch a run and follow it over the events WebSocket (reconnecting with backoff if it closes
 * before the run completes, then asking the run's status). Returns {run, error, start, reset}.
 */
export function useRun(token, onUnauthorized) {
  const [run, setRun] = useState(initialRun());
  const [error, setError] = useState(null);
  const live = useRef({ socket: null, done: true, runId: null });

  const close = () => {
    const s = live.current.socket;
    live.current.socket = null;
    if (s) {
      s.onclose = null;
      s.close();
    }
  };
  useEffect(() => close, []);

  const finalStatus = useCallback(
    async (pipeline, runId) => {
      try {
        const res = await api(`/api/v1/pipelines/${encodeURIComponent(pipeline)}/runs/${runId}`, { token });
        setRun((s) => {
          if (s.runId !== runId) return s;
          const steps = (res.steps || []).map((st) => ({ type: 'pipeline.progress', run_id: runId, step: st.key, step_status: st.status }));
          const next = steps.reduce((acc, e) => reduceRunEvent(acc, e, pipeline), s);
          return { ...next, status: res.status, done: !!res.end_time || next.done };
        });
      } catch (exc) {
        setError(`run status: ${exc.message}`);
      }
    },
    [token],
  );

  const follow = useCallback(
    (pipeline, runId, attempt) => {
      // `since`: the server replays what happened to runs updated since the launch, so a
      // reconnect after the run finished still gets its events
      const socket = new WebSocket(eventsUrl(pipeline, live.current.since));
      live.current.socket = socket;
      socket.onopen = () => socket.send(authMessage(token));
      socket.onmessage = (msg) => {
        let event;
        try {
          event = JSON.parse(msg.data);
        } catch {
          return;
        }
        if (event.type === 'error') setError(event.message);
        if (event.run_id === runId && event.type === 'pipeline.completed') live.current.done = true;
        setRun((s) => reduceRunEvent(s, event, pipeline));
        if (live.current.done) close();
      };
      socket.onclose = () => {
        if (live.current.socket !== socket || live.current.done) return;
        if (attempt < MAX_RECONNECTS) {
          const wait = Math.min(8000, 500 * 2 ** attempt);
          setTimeout(() => live.current.runId === runId && !live.current.done && follow(pipeline, runId, attempt + 1), wait);
        } else {
          setError('the event stream closed before the run finished');
          finalStatus(pipeline, runId);
        }
      };
    },
    [token, finalStatus],
  );

  const start = useCallback(
    async (pipeline) => {
      close();
      setError(null);
      setRun(initialRun(null, 'LAUNCHING'));
      const since = Math.max(0, Date.now() / 1000 - 5); // a little clock skew allowed
      try {
        const res = await api(`/api/v1/pipelines/${encodeURIComponent(pipeline)}/execute`, { method: 'POST', token });
        live.current = { socket: null, done: false, runId: res.run_id, since };
        setRun(initialRun(res.run_id, res.status || 'QUEUED'));
        follow(pipeline, res.run_id, 0);
      } catch (exc) {
        if (exc.status === 401) onUnauthorized();
        setRun(initialRun(null, null));
        setError(`run: ${exc.message}`);
      }
    },
    [token, follow, onUnauthorized],
  );

  const reset = useCallback(() => {
    close();
    live.current = { socket: null, done: true, runId: null };
    setRun(initialRun());
    setError(null);
  }, []);

  return { run, error, start, reset };
}
