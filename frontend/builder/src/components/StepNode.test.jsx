// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from '@testing-library/react';
import { ReactFlowProvider } from '@xyflow/react';
import { BuilderContext } from '../context.js';
import StepNode from './StepNode.jsx';

afterEach(cleanup);

const TYPES = {
  csv: { name: 'csv', kind: 'source', label: 'CSV', max_inputs: 0 },
  write: { name: 'write', kind: 'sink', label: 'Write', max_inputs: 1 },
};
const ctx = (over = {}) => ({
  types: TYPES,
  colors: { source: '#2e7d32', sink: '#6a1b9a' },
  errors: {},
  run: { steps: {} },
  pipeline: 'shop',
  dagsterUrl: 'http://dagster:3000/',
  ...over,
});
const show = (id, stepType, value) =>
  render(
    <ReactFlowProvider>
      <BuilderContext.Provider value={value}>
        <StepNode id={id} data={{ stepType, config: {} }} selected={false} />
      </BuilderContext.Provider>
    </ReactFlowProvider>,
  ).container;

describe('StepNode', () => {
  it('shows type, id, idle status and the asset link; sources have no input handle', () => {
    const c = show('orders', 'csv', ctx());
    const node = c.querySelector('[data-testid="node-orders"]');
    expect(node.dataset.status).toBe('idle');
    expect(node.textContent).toContain('CSV');
    expect(node.textContent).toContain('orders');
    expect(c.querySelector('[data-testid="asset-link-orders"]').getAttribute('href')).toBe('http://dagster:3000/assets/shop/orders');
    expect(c.querySelector('[data-testid="node-error-orders"]')).toBeNull();
    expect(c.querySelector('.react-flow__handle-left')).toBeNull();
    expect(c.querySelector('.react-flow__handle-right')).not.toBeNull();
  });

  it('shows validator errors in a badge and a run failure with its cause', () => {
    const c = show('out', 'write', ctx({
      errors: { out: [{ message: 'is required', field: 'config.path' }] },
      run: { steps: { out: { status: 'failure', error: 'Wrapper:\n\nThe above exception was caused by the following exception:\nOSError: disk full' } } },
    }));
    expect(c.querySelector('[data-testid="node-out"]').dataset.status).toBe('failure');
    const badge = c.querySelector('[data-testid="node-error-out"]');
    expect(badge.getAttribute('title')).toBe('config.path: is required');
    expect(badge.textContent).toContain('is required');
    expect(c.querySelector('.step-failure').textContent).toBe('OSError: disk full');
    expect(c.querySelector('.react-flow__handle-left')).not.toBeNull();
    expect(c.querySelector('.react-flow__handle-right')).toBeNull();
  });
});
