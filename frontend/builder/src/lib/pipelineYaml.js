// Graph <-> pipeline YAML. Key order is stable so saved files compare.
import YAML from 'yaml';
import { dependsOn, makeEdge } from './graph.js';
import { layeredLayout } from './layout.js';

const OWN_KEYS = new Set(['name', 'description', 'steps']);

// The server reads pipelines with PyYAML: YAML 1.1 scalars (dates, 1_000, 12:30, 0b101 are not
// strings there, 1e-7 is not a number) but only true/false as booleans. Written text follows
// those rules: such strings are quoted, exponent floats get a dot.
const BOOL = 'tag:yaml.org,2002:bool';
const FLOAT = 'tag:yaml.org,2002:float';
const CORE_BOOL = new YAML.Schema({ schema: 'core' }).tags.filter((t) => t.tag === BOOL);
const withDot = (text) => (/^[-+]?\d+e/i.test(text) ? text.replace(/e/i, '.0e') : text);
export const YAML_OPTIONS = {
  version: '1.1',
  customTags: (tags) => [
    ...tags.filter((t) => t.tag !== BOOL).map((t) => (t.tag === FLOAT && t.stringify
      ? { ...t, stringify: (...args) => withDot(t.stringify(...args)) } : t)),
    ...CORE_BOOL,
  ],
};

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

/** Flow style for the steps' `ui` and `depends_on` (the generator's style) in a document. */
function flowStepKeys(steps) {
  for (const step of steps?.items || []) {
    for (const key of ['ui', 'depends_on']) {
      const node = step.get?.(key, true);
      if (node) node.flow = true;
    }
  }
}

/**
 * The YAML text of the graph; `ui` and `depends_on` in flow style to keep files short.
 * With `base` (the text of the file the canvas came from, see `yamlToGraph`) that file is
 * edited in place instead: untouched parts keep their text, comments and key order.
 */
export function pipelineToYaml(meta, nodes, edges, base = null) {
  if (base != null) {
    let edited = null;
    try {
      edited = editPipelineText(base, meta, nodes, edges);
    } catch {
      edited = null; // a shape the in-place edit does not handle: regenerate
    }
    if (edited != null) return edited;
  }
  const doc = new YAML.Document(pipelineObject(meta, nodes, edges), YAML_OPTIONS);
  flowStepKeys(doc.get('steps'));
  return doc.toString({ lineWidth: 100 });
}

/** A React Flow node for a step. */
export function stepNode(id, stepType, position, config = {}, description = '', baseId = undefined) {
  const data = { stepType, config, description };
  if (baseId !== undefined) data.baseId = baseId; // the step's id in the loaded file
  return { id, type: 'step', position, data };
}

/** The nodes as steps of the file just saved: each one's base id is its current id. */
export function rebaseNodes(nodes) {
  return nodes.map((n) => (n.data.baseId === n.id ? n : { ...n, data: { ...n.data, baseId: n.id } }));
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
    return stepNode(s.id, String(s.type ?? ''), position, s.config || {}, s.description || '', s.id);
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

// ---- editing a loaded file in place -------------------------------------------------------
// `yaml`'s Document.toString() re-formats the whole file (indents, flow spacing, folded text),
// so the loaded file is edited as text instead: the parsed Document gives each node's source
// range, and only the ranges of changed values are replaced (rendered by `yaml`).

const STEP_ORDER = ['id', 'type', 'description', 'depends_on', 'config', 'ui'];
const WIDTH = 100;

const isObj = (v) => v != null && typeof v === 'object' && !Array.isArray(v);

function same(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (!isObj(a) || !isObj(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

/** Text edits on a source string: non-overlapping [start, end, text] splices applied at once. */
class Splices {
  constructor(src) {
    this.src = src;
    this.list = [];
  }
  add(start, end, text) {
    this.list.push([start, end, text]);
  }
  apply() {
    const sorted = [...this.list].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let out = '';
    let at = 0;
    for (const [start, end, text] of sorted) {
      if (start < at) throw new Error('overlapping edits');
      out += this.src.slice(at, start) + text;
      at = end;
    }
    return out + this.src.slice(at);
  }
  lineStart(pos) {
    return this.src.lastIndexOf('\n', pos - 1) + 1;
  }
  /** The position after the newline ending the line at `pos` (or the end of the text). */
  lineEnd(pos) {
    const i = this.src.indexOf('\n', pos);
    return i === -1 ? this.src.length : i + 1;
  }
  column(pos) {
    return pos - this.lineStart(pos);
  }
  /** The line starting at `pos` when it is blank or a comment: {blank, comment, indent}. */
  lineKind(pos) {
    const line = this.src.slice(pos, this.lineEnd(pos)).replace(/\r?\n$/, '');
    const trimmed = line.trimStart();
    return { blank: trimmed === '', comment: trimmed.startsWith('#'), indent: line.length - trimmed.length };
  }
}

/** The end of a node's content (after an end-of-line comment, before the next line). */
function contentEnd(sp, node) {
  const end = node.range[1];
  return sp.src[end - 1] === '\n' ? end : sp.lineEnd(end);
}

/** End of a pair in a block map: its value, else its key. */
function pairEnd(sp, pair) {
  return contentEnd(sp, pair.value && pair.value.range ? pair.value : pair.key);
}

/** Render a value alone on one line (null when it needs more): in a flow collection or not. */
function inlineText(value, inFlow, padded) {
  const doc = new YAML.Document(inFlow ? [value] : { k: value }, YAML_OPTIONS);
  if (inFlow) doc.contents.flow = true;
  let text = doc.toString({ lineWidth: 0, flowCollectionPadding: padded }).replace(/\n$/, '');
  if (text.includes('\n')) return null;
  text = inFlow ? text.slice(padded ? 2 : 1, padded ? -2 : -1) : text.slice(3);
  return text;
}

/** A new value node in the style of the old one (quotes, folded text, flow collections). */
function styled(doc, value, old) {
  const block = YAML.isScalar(old) && String(old.type).startsWith('BLOCK') && typeof value === 'string';
  // a folded/literal text keeps its final newline (`>`, not `>-`) when it had one
  const node = doc.createNode(block && String(old.value).endsWith('\n') && !value.endsWith('\n') ? `${value}\n` : value);
  if (YAML.isScalar(old) && YAML.isScalar(node) && typeof old.value === typeof value && old.type) {
    node.type = old.type;
  }
  if (YAML.isCollection(old) && YAML.isCollection(node) && old.flow) node.flow = true;
  return node;
}

/** `key: value` as block lines (the first without indent, the others indented by `indent`). */
function pairText(doc, key, valueNode, indent) {
  const out = new YAML.Document({}, YAML_OPTIONS);
  out.contents.items.push(out.createPair(key, valueNode));
  if (key === 'steps') flowStepKeys(valueNode);
  if ((key === 'ui' || key === 'depends_on') && YAML.isCollection(valueNode) && valueNode.flow == null) {
    valueNode.flow = true;
  }
  const text = out.toString({ lineWidth: WIDTH }).replace(/\n$/, '');
  return text.split('\n').map((l, i) => (i && l ? ' '.repeat(indent) + l : l)).join('\n');
}

const flowPadded = (sp, node) => /^[[{] /.test(sp.src.slice(node.range[0], node.range[0] + 2));

/**
 * Edit the text of the map `node` (source of `old`) into `next`: changed scalars in place,
 * changed keys alone, new keys after the keys `order` puts before them (else at the end).
 * Returns false when the edit cannot be done in place.
 */
function editMap(sp, doc, node, old, next, order = null) {
  if (!YAML.isMap(node)) return false;
  if (node.flow) return editFlow(sp, doc, node, old, next);
  const pairs = new Map(node.items.map((p) => [YAML.isScalar(p.key) ? String(p.key.value) : null, p]));
  for (const [k, p] of pairs) {
    if (k == null || !Object.hasOwn(old, k)) return false;
    if (!Object.hasOwn(next, k)) {
      deletePair(sp, p);
    } else if (!same(old[k], next[k]) && !editValue(sp, doc, p, old[k], next[k])) {
      return false;
    }
  }
  const added = Object.keys(next).filter((k) => !pairs.has(k));
  for (const k of added) {
    const cut = order ? order.indexOf(k) : -1;
    const before = order ? (cut < 0 ? order : order.slice(0, cut)) : null;
    const prior = before ? node.items.filter((p) => before.includes(String(p.key.value))) : node.items;
    const text = (indent) => `${' '.repeat(indent)}${pairText(doc, k, doc.createNode(next[k]), indent)}\n`;
    const first = node.items[0];
    if (!prior.length && first && !sp.src.slice(sp.lineStart(first.key.range[0]), first.key.range[0]).trim()) {
      const at = sp.lineStart(first.key.range[0]);
      sp.add(at, at, text(sp.column(first.key.range[0])));
      continue;
    }
    const after = prior.length ? prior[prior.length - 1] : node.items[node.items.length - 1];
    if (!after) return false;
    const at = pairEnd(sp, after);
    sp.add(at, at, (sp.src[at - 1] === '\n' ? '' : '\n') + text(sp.column(after.key.range[0])));
  }
  return true;
}

/** Replace one pair's value: a scalar in place, a nested block map key by key, else the pair. */
function editValue(sp, doc, pair, oldValue, nextValue) {
  const v = pair.value;
  if (YAML.isScalar(v) && v.range && !isObj(nextValue) && !Array.isArray(nextValue) &&
      !String(v.type).startsWith('BLOCK')) {
    const text = inlineText(styled(doc, nextValue, v), false, false);
    if (text != null) {
      sp.add(v.range[0], v.range[1], text);
      return true;
    }
  }
  if (YAML.isMap(v) && isObj(oldValue) && isObj(nextValue) && editMap(sp, doc, v, oldValue, nextValue)) return true;
  if (YAML.isCollection(v) && v.flow && v.range && sp.lineStart(v.range[0]) === sp.lineStart(pair.key.range[0])) {
    const node = styled(doc, nextValue, v);
    const text = inlineText(node, false, flowPadded(sp, v));
    if (text != null) {
      sp.add(v.range[0], v.range[1], text);
      return true;
    }
  }
  // the whole pair, from its key to the end of its value
  const indent = sp.column(pair.key.range[0]);
  const end = pairEnd(sp, pair);
  const nl = sp.src[end - 1] === '\n' ? '\n' : '';
  sp.add(pair.key.range[0], end, pairText(doc, String(pair.key.value), styled(doc, nextValue, v), indent) + nl);
  return true;
}

/** Remove a block map's pair with the comment lines right above it. */
function deletePair(sp, pair) {
  let start = sp.lineStart(pair.key.range[0]);
  if (sp.src.slice(start, pair.key.range[0]).trim()) return false; // e.g. `- id:`; never done
  const indent = sp.column(pair.key.range[0]);
  while (start > 0) {
    const prev = sp.lineStart(start - 1);
    const kind = sp.lineKind(prev);
    if (!kind.comment || kind.indent !== indent) break;
    start = prev;
  }
  sp.add(start, pairEnd(sp, pair), '');
  return true;
}

/** A flow map (`{x: 1, y: 2}`): changed scalars in place, else the whole map re-rendered. */
function editFlow(sp, doc, node, old, next) {
  const keys = node.items.map((p) => (YAML.isScalar(p.key) ? String(p.key.value) : null));
  const sameKeys = keys.length === Object.keys(next).length && keys.every((k) => k != null && Object.hasOwn(next, k));
  if (sameKeys) {
    const edits = [];
    for (const p of node.items) {
      const k = String(p.key.value);
      if (same(old[k], next[k])) continue;
      const v = p.value;
      const text = YAML.isScalar(v) && v.range && !isObj(next[k]) && !Array.isArray(next[k])
        ? inlineText(styled(doc, next[k], v), true, false) : null;
      if (text == null) break;
      edits.push([v.range[0], v.range[1], text]);
    }
    if (edits.length === node.items.filter((p) => !same(old[String(p.key.value)], next[String(p.key.value)])).length) {
      for (const e of edits) sp.add(...e);
      return true;
    }
  }
  const fresh = doc.createNode(next);
  fresh.flow = true;
  const text = inlineText(fresh, false, flowPadded(sp, node));
  if (text == null) return false;
  sp.add(node.range[0], node.range[1], text);
  return true;
}

/** Remove a step (a block sequence item) with its comment lines; keep the blank-line rhythm. */
function deleteItem(sp, seq, index) {
  const item = seq.items[index];
  const marker = sp.src.lastIndexOf('-', item.range[0] - 1);
  const col = sp.column(marker);
  let start = sp.lineStart(marker);
  let scan = start;
  while (scan > 0) {
    const prev = sp.lineStart(scan - 1);
    const kind = sp.lineKind(prev);
    if (!(kind.blank || (kind.comment && kind.indent === col))) break;
    scan = prev;
    if (kind.comment) start = prev;
  }
  let end = YAML.isMap(item) && !item.flow && item.items.length ? pairEnd(sp, item.items[item.items.length - 1]) : contentEnd(sp, item);
  while (end < sp.src.length) {
    const kind = sp.lineKind(end);
    if (!kind.comment || kind.indent <= col) break;
    end = sp.lineEnd(end);
  }
  if (index === 0) {
    while (end < sp.src.length && sp.lineKind(end).blank) end = sp.lineEnd(end);
  } else {
    while (start > 0 && sp.lineKind(sp.lineStart(start - 1)).blank) start = sp.lineStart(start - 1);
  }
  sp.add(start, end, '');
}

/** The step object of a node for the generator (same shape as `pipelineObject`'s steps). */
function stepObject(n, edges) {
  return pipelineObject({ name: '' }, [n], edges).steps[0];
}

/**
 * The base file edited into the graph, or null when it cannot be done in place (not a block
 * mapping with a block sequence of step mappings, repeated ids): then the file is regenerated.
 */
function editPipelineText(base, meta, nodes, edges) {
  const doc = YAML.parseDocument(base);
  if (doc.errors.length || !YAML.isMap(doc.contents) || doc.contents.flow) return null;
  let baseGraph;
  try {
    baseGraph = yamlToGraph(base);
  } catch {
    return null;
  }
  const raw = doc.toJS();
  const sp = new Splices(base);
  const stepsPair = doc.contents.items.find((p) => YAML.isScalar(p.key) && p.key.value === 'steps');
  const seq = stepsPair?.value;
  const baseIds = baseGraph.nodes.map((n) => n.id);
  if (new Set(baseIds).size !== baseIds.length) return null;
  const blockSeq = YAML.isSeq(seq) && !seq.flow && seq.items.length > 0;
  if (blockSeq && !seq.items.every((it) => YAML.isMap(it) && it.range)) return null;
  if (!blockSeq && baseIds.length) return null;

  // top level: name, description, kept keys (the steps are edited below)
  const top = { ...raw };
  delete top.steps;
  const oldTop = { ...top };
  const baseName = raw.name == null ? '' : String(raw.name);
  if ((meta.name || '') !== baseName) top.name = meta.name || '';
  if ((meta.description || '') !== baseGraph.meta.description) {
    if (meta.description) top.description = meta.description;
    else delete top.description;
  }
  const extra = meta.extra || {};
  for (const k of Object.keys(top)) {
    if (OWN_KEYS.has(k)) continue;
    if (!Object.hasOwn(extra, k)) delete top[k];
    else if (!same(baseGraph.meta.extra[k], extra[k])) top[k] = extra[k];
  }
  for (const [k, v] of Object.entries(extra)) if (!Object.hasOwn(top, k)) top[k] = v;
  const topOrder = ['name', 'description', ...Object.keys(extra)];
  if (stepsPair) oldTop.steps = top.steps = null; // kept in place; not compared
  if (!editMap(sp, doc, doc.contents, oldTop, top, topOrder)) return null;

  // steps
  const baseById = new Map(baseGraph.nodes.map((n, i) => [n.id, { node: n, item: blockSeq ? seq.items[i] : null, raw: raw.steps[i] }]));
  const kept = new Set();
  const fresh = [];
  for (const n of nodes) {
    const b = n.data.baseId != null ? baseById.get(n.data.baseId) : null;
    if (!b || kept.has(n.data.baseId)) {
      fresh.push(n);
      continue;
    }
    kept.add(n.data.baseId);
    const old = b.raw;
    const next = { ...old };
    if (n.id !== String(old.id ?? '')) next.id = n.id;
    if (n.data.stepType !== String(old.type ?? '')) next.type = n.data.stepType;
    const desc = n.data.description || '';
    if (desc !== (old.description || '')) {
      if (desc) next.description = desc;
      else delete next.description;
    }
    const deps = dependsOn(n.id, edges);
    if (!same(deps, dependsOn(b.node.id, baseGraph.edges))) {
      if (deps.length) next.depends_on = deps;
      else delete next.depends_on;
    }
    const config = n.data.config || {};
    if (!same(config, old.config || {})) {
      if (Object.keys(config).length) next.config = config;
      else delete next.config;
    }
    const pos = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    const was = { x: Math.round(b.node.position.x), y: Math.round(b.node.position.y) };
    if (!same(pos, was)) next.ui = { ...(isObj(old.ui) ? old.ui : {}), ...pos };
    if (!same(old, next) && !editMap(sp, doc, b.item, old, next, STEP_ORDER)) return null;
  }
  // every step replaced: the `steps` key is written anew below
  const replaceAll = blockSeq && kept.size === 0 && fresh.length > 0;
  baseGraph.nodes.forEach((n, i) => {
    if (!kept.has(n.id) && !replaceAll) deleteItem(sp, seq, i);
  });

  if (fresh.length) {
    const steps = fresh.map((n) => stepObject(n, edges));
    if (blockSeq && !replaceAll) {
      const last = seq.items[seq.items.length - 1];
      const marker = sp.src.lastIndexOf('-', seq.items[0].range[0] - 1);
      const col = sp.column(marker);
      const spaced = seq.items.length > 1 && sp.lineKind(sp.lineStart(sp.lineStart(sp.src.lastIndexOf('-', last.range[0] - 1)) - 1)).blank;
      const seqDoc = new YAML.Document(steps, YAML_OPTIONS);
      flowStepKeys(seqDoc.contents);
      const body = seqDoc.toString({ lineWidth: WIDTH }).replace(/\n$/, '').split('\n');
      let text = '';
      for (const line of body) {
        if (line.startsWith('- ') && spaced) text += '\n';
        text += (line ? ' '.repeat(col) + line : line) + '\n';
      }
      let at = YAML.isMap(last) && !last.flow ? pairEnd(sp, last.items[last.items.length - 1]) : contentEnd(sp, last);
      while (at < sp.src.length) {
        const kind = sp.lineKind(at);
        if (!kind.comment || kind.indent <= col) break;
        at = sp.lineEnd(at);
      }
      const lead = sp.src[at - 1] === '\n' ? '' : '\n';
      sp.add(at, at, lead + text);
    } else {
      // no steps in the file: write the whole `steps` key in the generator's style
      const seqNode = doc.createNode(steps);
      flowStepKeys(seqNode);
      if (stepsPair) {
        const end = pairEnd(sp, stepsPair);
        const nl = sp.src[end - 1] === '\n' ? '\n' : '';
        sp.add(stepsPair.key.range[0], end, pairText(doc, 'steps', seqNode, 0) + nl);
      } else {
        const lead = base && !base.endsWith('\n') ? '\n' : '';
        sp.add(base.length, base.length, `${lead}${pairText(doc, 'steps', seqNode, 0)}\n`);
      }
    }
  }
  return sp.apply();
}
