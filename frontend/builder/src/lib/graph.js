// Graph helpers shared by the canvas and the YAML conversion: node ids, edges, renames.

/** The lowest free id `{type}_{n}` (n from 1) among the existing ids. */
export function nextStepId(type, existingIds) {
  const taken = new Set(existingIds);
  let n = 1;
  while (taken.has(`${type}_${n}`)) n += 1;
  return `${type}_${n}`;
}

const ARROW = { type: 'arrowclosed', width: 16, height: 16, color: '#7b8794' };

/** A React Flow edge meaning "target depends on source" (drawn with an arrow to the target). */
export function makeEdge(source, target) {
  return { id: `${source}->${target}`, source, target, markerEnd: ARROW };
}

/** The ids a step depends on, in the order their edges were added. */
export function dependsOn(stepId, edges) {
  return edges.filter((e) => e.target === stepId).map((e) => e.source);
}

/** Whether a connection may be drawn: no self loop, no duplicate (cycles are left to the validator). */
export function canConnect(source, target, edges) {
  if (!source || !target || source === target) return false;
  return !edges.some((e) => e.source === source && e.target === target);
}

/** Why a new step id cannot be used, or null when it can. */
export function renameProblem(oldId, newId, nodes) {
  if (!newId) return 'the id cannot be empty';
  if (newId !== oldId && nodes.some((n) => n.id === newId)) return `'${newId}' is already used`;
  return null;
}

/** Rename a step: the node, the edges touching it (keeping their order) and so depends_on. */
export function renameStep(nodes, edges, oldId, newId) {
  if (oldId === newId) return { nodes, edges };
  const rename = (id) => (id === oldId ? newId : id);
  return {
    nodes: nodes.map((n) => (n.id === oldId ? { ...n, id: newId } : n)),
    edges: edges.map((e) =>
      e.source === oldId || e.target === oldId ? makeEdge(rename(e.source), rename(e.target)) : e,
    ),
  };
}
