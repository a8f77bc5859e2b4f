import { describe, expect, it } from 'vitest';
import { canConnect, dependsOn, makeEdge, nextStepId, renameProblem, renameStep } from './graph.js';

describe('nextStepId', () => {
  it('takes the lowest free number from 1', () => {
    expect(nextStepId('csv', [])).toBe('csv_1');
    expect(nextStepId('csv', ['csv_1', 'csv_3', 'filter_2'])).toBe('csv_2');
  });
});

describe('edges', () => {
  const edges = [makeEdge('b', 'j'), makeEdge('a', 'j'), makeEdge('j', 'w')];
  it('keeps depends_on in connection order', () => {
    expect(dependsOn('j', edges)).toEqual(['b', 'a']);
    expect(dependsOn('a', edges)).toEqual([]);
  });
  it('refuses self loops and duplicates but allows cycles', () => {
    expect(canConnect('a', 'a', edges)).toBe(false);
    expect(canConnect('b', 'j', edges)).toBe(false);
    expect(canConnect('w', 'b', edges)).toBe(true);
  });
});

describe('renameStep', () => {
  const nodes = [{ id: 'a' }, { id: 'j' }, { id: 'b' }];
  const edges = [makeEdge('b', 'j'), makeEdge('a', 'j')];
  it('renames the node and its edges keeping depends_on order', () => {
    const out = renameStep(nodes, edges, 'b', 'orders');
    expect(out.nodes.map((n) => n.id)).toEqual(['a', 'j', 'orders']);
    expect(dependsOn('j', out.edges)).toEqual(['orders', 'a']);
    expect(out.edges[0].id).toBe('orders->j');
  });
  it('reports empty and duplicate ids', () => {
    expect(renameProblem('a', '', nodes)).toMatch(/empty/);
    expect(renameProblem('a', 'b', nodes)).toMatch(/already/);
    expect(renameProblem('a', 'a', nodes)).toBeNull();
    expect(renameProblem('a', 'z', nodes)).toBeNull();
  });
});
