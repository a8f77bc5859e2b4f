// Automatic layered layout for steps without saved positions.

export const COLUMN_WIDTH = 260;
export const ROW_HEIGHT = 120;
export const MARGIN = 40;

/**
 * Depth of each step = longest chain of known inputs before it (cycles are cut).
 * @param {{id: string, depends_on?: string[]}[]} steps
 */
export function depths(steps) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const memo = new Map();
  const visit = (id, stack) => {
    if (memo.has(id)) return memo.get(id);
    if (stack.has(id)) return 0;
    stack.add(id);
    const deps = (byId.get(id)?.depends_on || []).filter((d) => byId.has(d));
    const d = deps.length ? 1 + Math.max(...deps.map((x) => visit(x, stack))) : 0;
    stack.delete(id);
    memo.set(id, d);
    return d;
  };
  return new Map(steps.map((s) => [s.id, visit(s.id, new Set())]));
}

/** Positions `{id: {x, y}}`: columns by depth, rows in file order within a column. */
export function layeredLayout(steps) {
  const depth = depths(steps);
  const rows = new Map();
  const out = {};
  for (const s of steps) {
    const col = depth.get(s.id);
    const row = rows.get(col) || 0;
    rows.set(col, row + 1);
    out[s.id] = { x: MARGIN + col * COLUMN_WIDTH, y: MARGIN + row * ROW_HEIGHT };
  }
  return out;
}
