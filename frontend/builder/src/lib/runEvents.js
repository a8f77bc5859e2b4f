// WebSocket run events -> node statuses and the run status.

const STEP_STATUS = {
  QUEUED: 'queued',
  IN_PROGRESS: 'running',
  STARTED: 'running',
  SUCCESS: 'success',
  FAILURE: 'failure',
  SKIPPED: 'skipped',
};

const BEFORE_START = new Set(['LAUNCHING', 'QUEUED', 'NOT_STARTED', 'STARTING']);

/** The state before a run: every node idle. */
export function initialRun(runId = null, status = null) {
  return { runId, status, steps: {}, done: false };
}

/** The step id of an event: its `step_id`, else a Dagster step key `{pipeline}__{id}`. */
export function eventStepId(event, pipeline) {
  if (event.step_id) return event.step_id;
  const key = event.step || '';
  const prefix = `${pipeline}__`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : key || null;
}

/** Apply one event (of any run; others are ignored) to the run state. Pure. */
export function reduceRunEvent(state, event, pipeline) {
  if (!event || (state.runId && event.run_id && event.run_id !== state.runId)) return state;
  if (event.pipeline && pipeline && event.pipeline !== pipeline) return state;
  switch (event.type) {
    case 'pipeline.started':
      return state.done ? state : { ...state, status: event.status || 'STARTED' };
    case 'pipeline.progress': {
      const id = eventStepId(event, pipeline);
      const status = STEP_STATUS[event.step_status];
      if (!id || !status) return state;
      const step = { status };
      if (status === 'failure' && event.error) step.error = event.error;
      return {
        ...state,
        status: !state.done && BEFORE_START.has(state.status) ? 'STARTED' : state.status,
        steps: { ...state.steps, [id]: step },
      };
    }
    case 'pipeline.completed':
      return { ...state, status: event.status, done: true };
    default:
      return state;
  }
}

const STOPPED = new Set(['FAILURE', 'CANCELED']);

/**
 * A node's status: what the run reported for it; a step the run never reached is idle, or
 * skipped once the run has failed or was canceled (Dagster reports nothing for those steps).
 */
export function nodeStatus(run, id) {
  const status = run.steps[id]?.status;
  if (status) return status;
  return run.runId && run.done && STOPPED.has(run.status) ? 'skipped' : 'idle';
}

const CAUSE = /The above exception (?:was caused by|occurred during handling of) the following exception:/;

/**
 * The line worth showing on a node for a step failure: the innermost cause of a wrapped
 * exception (Dagster's "Error occurred while executing op" says nothing), without the trace.
 */
export function failureHeadline(error) {
  if (!error) return '';
  const parts = String(error).split(CAUSE);
  const inner = parts[parts.length - 1].trim();
  const head = inner.split(/\n\s*\n|\nStack Trace:|\n\s+File "/)[0].trim();
  return head || String(error).trim();
}
