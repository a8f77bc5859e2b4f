// Graph <-> pipeline YAML. Key order is stable so saved files compare.
import YAML from 'yaml';
import { dependsOn, makeEdge } from './graph.js';
import { layeredLayout } from './layout.js';

const OWN_KEYS = new Set(['name', 'description', 'steps']);

/** A new, empty pipeline's top-level fields. */
export function emptyMeta() {
  return { name: '', description: '', extra: {} };
}

/** The pipeline as a plain object in file order (name, description, kept keys, steps). */
export function pipelineObject(meta, nodes, edges) {
  const out = { name: meta.name || '' };
  if (meta.description) out.description = meta.description;
  Object.assign(out, meta.extra || {});
  out.steps = nodes.map((n) => {
    const step = { id: n.id, type: n.data.stepType };
    if (n.data.description) step.description = n.data.description;
    const deps = dependsOn(n.id, edges);
    if (deps.length) step.depends_on = deps;
    const config = n.data.config || {};
    if (Object.keys(config).length) step.config = config;
    step.ui = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    return step;
  });
  return out;
}

/** The YAML text of the graph; `ui` and `depends_on` in flow style to keep files short. */
export function pipelineToYaml(meta, nodes, edges) {
  const doc = new YAML.Document(pipelineObject(meta, nodes, edges));
  const steps = doc.get('steps');
  for (const step of steps?.items || []) {
    for (const key of ['ui', 'depends_on']) {
      const node = step.get(key, true);
      if (node) node.flow = true;
    }
  }
  return doc.toString({ lineWidth: 100 });
}

/** A React Flow node for a step. */
export function stepNode(id, stepType, position, config = {}, description = '') {
  return { id, type: 'step', position, data: { stepType, config, description } };
}

/**
 * Parse a pipeline file into {meta, nodes, edges}; positions from `ui.{x,y}`, else a layered
 * layout. Throws Error with a readable message when the text is not a pipeline mapping.
 */
export function yamlToGraph(text) {
  const parsed = YAML.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('the file is not a YAML mapping');
  }
  const extra = {};
  for (const [k, v] of Object.entries(parsed)) if (!OWN_KEYS.has(k)) extra[k] = v;
  const steps = (Array.isArray(parsed.steps) ? parsed.steps : []).map((s) => ({
    ...s,
    id: String(s?.id ?? ''),
    depends_on: s?.depends_on == null ? [] : [].concat(s.depends_on).map(String),
  }));
  const auto = layeredLayout(steps);
  const nodes = steps.map((s) => {
    const ui = s.ui || {};
    const position =
      Number.isFinite(ui.x) && Number.isFinite(ui.y) ? { x: ui.x, y: ui.y } : auto[s.id];
    return stepNode(s.id, String(s.type ?? ''), position, s.config || {}, s.description || '');
  });
  const ids = new Set(nodes.map((n) => n.id));
  const edges = [];
  for (const s of steps) {
    for (const d of s.depends_on) if (ids.has(d)) edges.push(makeEdge(d, s.id));
  }
  const meta = {
    name: parsed.name == null ? '' : String(parsed.name),
    description: parsed.description == null ? '' : String(parsed.description).trim(),
    extra,
  };
  return { meta, nodes, edges };
}
