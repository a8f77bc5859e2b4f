import { useEffect, useRef, useState } from 'react';
import { api } from '../api.js';

export const DEBOUNCE_MS = 300;

/**
 * Validate `yaml` through POST /api/v1/pipelines/validate, 300 ms after the last change;
 * answers to older texts are ignored. Returns {errors, columns, order, pending, failure}.
 */
export function useValidation(yaml, existing, token, onUnauthorized) {
  const [state, setState] = useState({ errors: [], columns: {}, order: [], pending: true, failure: null });
  const seq = useRef(0);
  useEffect(() => {
    if (!token) return undefined;
    const mine = ++seq.current;
    setState((s) => ({ ...s, pending: true }));
    const timer = setTimeout(async () => {
      const q = existing ? `?existing=${encodeURIComponent(existing)}` : '';
      try {
        const res = await api(`/api/v1/pipelines/validate${q}`, { method: 'POST', body: { yaml }, token });
        if (mine !== seq.current) return;
        setState({ errors: res.errors || [], columns: res.columns || {}, order: res.order || [], pending: false, failure: null });
      } catch (exc) {
        if (mine !== seq.current) return;
        if (exc.status === 401) onUnauthorized();
        setState((s) => ({ ...s, pending: false, failure: `validation failed: ${exc.message}` }));
      }
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [yaml, existing, token, onUnauthorized]);
  return [state, setState];
}
