import { describe, expect, it } from 'vitest';
import { COLUMN_WIDTH, MARGIN, ROW_HEIGHT, depths, layeredLayout } from './layout.js';

describe('layeredLayout', () => {
  const steps = [
    { id: 'w', depends_on: ['j'] },
    { id: 'a' },
    { id: 'b' },
    { id: 'j', depends_on: ['a', 'f'] },
    { id: 'f', depends_on: ['b'] },
  ];
  it('puts each step one column right of its deepest input', () => {
    expect(Object.fromEntries(depths(steps))).toEqual({ w: 3, a: 0, b: 0, j: 2, f: 1 });
  });
  it('stacks steps of a column in file order', () => {
    const pos = layeredLayout(steps);
    expect(pos.a).toEqual({ x: MARGIN, y: MARGIN });
    expect(pos.b).toEqual({ x: MARGIN, y: MARGIN + ROW_HEIGHT });
    expect(pos.w).toEqual({ x: MARGIN + 3 * COLUMN_WIDTH, y: MARGIN });
  });
  it('survives cycles and unknown inputs', () => {
    const pos = layeredLayout([{ id: 'x', depends_on: ['y', 'nope'] }, { id: 'y', depends_on: ['x'] }]);
    expect(Object.keys(pos)).toEqual(['x', 'y']);
    expect(Number.isFinite(pos.x.x) && Number.isFinite(pos.y.x)).toBe(true);
  });
});
