import { describe, expect, it } from 'vitest';
import { eventStepId, failureHeadline, initialRun, nodeStatus, reduceRunEvent } from './runEvents.js';

const run = (events) => events.reduce((s, e) => reduceRunEvent(s, e, 'p'), initialRun('r1', 'QUEUED'));

describe('reduceRunEvent', () => {
  it('follows a run to failure', () => {
    const s = run([
      { type: 'pipeline.started', run_id: 'r1', pipeline: 'p', status: 'STARTED' },
      { type: 'pipeline.progress', run_id: 'r1', pipeline: 'p', step: 'p__a', step_id: 'a', step_status: 'IN_PROGRESS' },
      { type: 'pipeline.progress', run_id: 'r1', pipeline: 'p', step: 'p__a', step_id: 'a', step_status: 'SUCCESS' },
      { type: 'pipeline.progress', run_id: 'r1', pipeline: 'p', step: 'p__f', step_id: null, step_status: 'FAILURE', error: 'boom' },
      { type: 'pipeline.progress', run_id: 'r2', pipeline: 'p', step: 'p__w', step_id: 'w', step_status: 'SUCCESS' },
      { type: 'pipeline.completed', run_id: 'r1', pipeline: 'p', status: 'FAILURE' },
    ]);
    expect(s.status).toBe('FAILURE');
    expect(run([{ type: 'pipeline.started', run_id: 'r1', status: 'STARTING' }, { type: 'pipeline.progress', run_id: 'r1', step_id: 'a', step_status: 'IN_PROGRESS' }]).status).toBe('STARTED');
    expect(s.done).toBe(true);
    expect(nodeStatus(s, 'a')).toBe('success');
    expect(s.steps.f).toEqual({ status: 'failure', error: 'boom' });
    expect(nodeStatus(s, 'w')).toBe('skipped'); // never reached by a failed run
    const ok = run([{ type: 'pipeline.completed', run_id: 'r1', status: 'SUCCESS' }]);
    expect(nodeStatus(ok, 'w')).toBe('idle');
    expect(nodeStatus(run([]), 'w')).toBe('idle'); // still running: not reached yet
  });
  it('marks queued and running steps and moves the run past QUEUED', () => {
    const s = run([{ type: 'pipeline.progress', run_id: 'r1', step_id: 'a', step_status: 'QUEUED' }]);
    expect(nodeStatus(s, 'a')).toBe('queued');
    expect(s.status).toBe('STARTED');
    expect(nodeStatus(run([{ type: 'pipeline.progress', run_id: 'r1', step_id: 'a', step_status: 'SKIPPED' }]), 'a')).toBe('skipped');
  });
  it('ignores unknown events and statuses', () => {
    const s0 = initialRun('r1', 'QUEUED');
    expect(reduceRunEvent(s0, { type: 'error', message: 'x' }, 'p')).toBe(s0);
    expect(reduceRunEvent(s0, { type: 'pipeline.progress', run_id: 'r1', step_id: 'a', step_status: 'NOPE' }, 'p')).toBe(s0);
  });
  it('derives the step id from the Dagster step key', () => {
    expect(eventStepId({ step: 'p__orders' }, 'p')).toBe('orders');
    expect(eventStepId({ step_id: 'x', step: 'p__orders' }, 'p')).toBe('x');
  });
});

describe('failureHeadline', () => {
  it('shows the innermost cause without the stack trace', () => {
    const error = [
      'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "p__f":',
      '',
      '  File "/x/plan/execute_plan.py", line 245, in dagster_event_sequence_for_step',
      '',
      'The above exception was caused by the following exception:',
      "ConditionTypeError: column 'a' (text) cannot be compared with 1",
      '',
      'Stack Trace:',
      '  File "/x/filter.py", line 3',
    ].join('\n');
    expect(failureHeadline(error)).toBe("ConditionTypeError: column 'a' (text) cannot be compared with 1");
  });
  it('keeps plain messages', () => {
    expect(failureHeadline("step 'bad': cannot load 'x:y'")).toBe("step 'bad': cannot load 'x:y'");
    expect(failureHeadline('')).toBe('');
  });
});
