import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeEdge, renameStep } from './graph.js';
import { YAML_OPTIONS, emptyMeta, pipelineToYaml, rebaseNodes, stepNode, yamlToGraph } from './pipelineYaml.js';

const graph = () => {
  const nodes = [
    stepNode('csv_1', 'csv', { x: 10.4, y: 20.6 }, { path: 'a.csv' }),
    stepNode('filter_1', 'filter', { x: 300, y: 20 }, { condition: 'x > 1' }),
    stepNode('write_1', 'write', { x: 600, y: 20 }),
  ];
  const edges = [makeEdge('csv_1', 'filter_1'), makeEdge('filter_1', 'write_1')];
  return { nodes, edges };
};

describe('pipelineToYaml', () => {
  it('writes the stable shape', () => {
    const { nodes, edges } = graph();
    const text = pipelineToYaml({ ...emptyMeta(), name: 'p', description: 'd' }, nodes, edges);
    expect(text).toBe(
      [
        'name: p',
        'description: d',
        'steps:',
        '  - id: csv_1',
        '    type: csv',
        '    config:',
        '      path: a.csv',
        '    ui: { x: 10, y: 21 }',
        '  - id: filter_1',
        '    type: filter',
        '    depends_on: [ csv_1 ]',
        '    config:',
        '      condition: x > 1',
        '    ui: { x: 300, y: 20 }',
        '  - id: write_1',
        '    type: write',
        '    depends_on: [ filter_1 ]',
        '    ui: { x: 600, y: 20 }',
        '',
      ].join('\n'),
    );
  });
  it('omits an empty description and keeps loaded top-level keys before steps', () => {
    const { nodes, edges } = graph();
    const meta = { name: 'p', description: '', extra: { owners: ['team:data'], schedule: '0 6 * * *' } };
    const obj = YAML.parse(pipelineToYaml(meta, nodes, edges));
    expect(Object.keys(obj)).toEqual(['name', 'owners', 'schedule', 'steps']);
  });
});

describe('yamlToGraph', () => {
  it('round-trips a file with positions, descriptions and kept keys', () => {
    const text = [
      'name: shop',
      'description: >',
      '  Orders.',
      'owners: [team:data]',
      'tags: {tier: gold}',
      'steps:',
      '  - id: j',
      '    type: join',
      '    description: Both.',
      '    depends_on: [b, a]',
      '    config: {on: [id]}',
      '    ui: {x: 500, y: 40}',
      '  - {id: a, type: csv, config: {path: a.csv}, ui: {x: 40, y: 40}}',
      '  - {id: b, type: csv, config: {path: b.csv}, ui: {x: 40, y: 160}}',
    ].join('\n');
    const { meta, nodes, edges } = yamlToGraph(text);
    expect(meta).toEqual({ name: 'shop', description: 'Orders.', extra: { owners: ['team:data'], tags: { tier: 'gold' } } });
    expect(nodes.map((n) => n.id)).toEqual(['j', 'a', 'b']);
    expect(nodes[0].position).toEqual({ x: 500, y: 40 });
    const back = YAML.parse(pipelineToYaml(meta, nodes, edges));
    expect(back.steps[0]).toEqual({
      id: 'j', type: 'join', description: 'Both.', depends_on: ['b', 'a'], config: { on: ['id'] }, ui: { x: 500, y: 40 },
    });
    expect(back.tags).toEqual({ tier: 'gold' });
  });
  it('lays out steps without ui and accepts a single depends_on string', () => {
    const { nodes, edges } = yamlToGraph('name: p\nsteps:\n- {id: a, type: csv}\n- {id: f, type: filter, depends_on: a}\n');
    expect(nodes[1].position.x).toBeGreaterThan(nodes[0].position.x);
    expect(edges).toEqual([makeEdge('a', 'f')]);
  });
  it('rejects text that is not a mapping', () => {
    expect(() => yamlToGraph('- a\n- b\n')).toThrow(/mapping/);
  });
});

const PIPELINES = new URL('../../../../pipelines/', import.meta.url);
const pipelineFiles = fs.readdirSync(PIPELINES).filter((f) => f.endsWith('.yaml')).sort();
const read = (f) => fs.readFileSync(new URL(f, PIPELINES), 'utf8');
const ORDERS = read('order_uploads.yaml');
const lines = (text) => text.split('\n');
/** The lines of `after` not in `before` and those of `before` gone from `after`. */
const diff = (before, after) => ({
  added: lines(after).filter((l) => !lines(before).includes(l)),
  removed: lines(before).filter((l) => !lines(after).includes(l)),
});
const withNode = (nodes, id, patch) => nodes.map((n) => (n.id === id ? patch(n) : n));

describe('pipelineToYaml on a loaded file', () => {
  it('has the project pipelines', () => {
    expect(pipelineFiles.length).toBeGreaterThanOrEqual(5);
  });
  it.each(pipelineFiles)('gives %s back byte for byte when nothing changed', (file) => {
    const text = read(file);
    const { meta, nodes, edges } = yamlToGraph(text);
    expect(pipelineToYaml(meta, nodes, edges, text)).toBe(text);
  });

  it('changes only the edited config key and keeps the comments', () => {
    const g = yamlToGraph(ORDERS);
    const nodes = withNode(g.nodes, 'augmented', (n) => ({ ...n, data: { ...n.data, config: { ...n.data.config, ratio: 2 } } }));
    const out = pipelineToYaml(g.meta, nodes, g.edges, ORDERS);
    expect(diff(ORDERS, out)).toEqual({
      added: ['    config: {ratio: 2, seed: 1, min_quality: 0.6}'],
      removed: ['    config: {ratio: 1.0, seed: 1, min_quality: 0.6}'],
    });
    expect(out).toContain('    # A few dozen rows with 25+ product codes');
    expect(YAML.parse(out).steps[4].config.ratio).toBe(2);
  });

  it('edits a block config key by key (added, changed, removed)', () => {
    const g = yamlToGraph(ORDERS);
    const nodes = withNode(g.nodes, 'gate', (n) => {
      const { unique, ...config } = n.data.config; // eslint-disable-line no-unused-vars
      return { ...n, data: { ...n.data, config: { ...config, min_rows: 5, max_rows: 10 } } };
    });
    const out = pipelineToYaml(g.meta, nodes, g.edges, ORDERS);
    expect(diff(ORDERS, out)).toEqual({
      added: ['      min_rows: 5', '      max_rows: 10'],
      removed: ['      unique: [order_id]', '      min_rows: 1'],
    });
  });

  it('renames a step in place, with its comments and the depends_on naming it', () => {
    const g = yamlToGraph(ORDERS);
    const r = renameStep(g.nodes, g.edges, 'augmented', 'more_orders');
    const out = pipelineToYaml(g.meta, r.nodes, r.edges, ORDERS);
    expect(diff(ORDERS, out)).toEqual({
      added: ['  - id: more_orders', '    depends_on: [more_orders]'],
      removed: ['  - id: augmented', '    depends_on: [augmented]'],
    });
    expect(YAML.parse(out).steps.map((s) => s.id)).toEqual(['upload', 'profiled', 'gate', 'paid', 'more_orders', 'stored']);
    expect(out).toContain('# (sparse pairs)');
  });

  it('adds a new edge to depends_on only', () => {
    const g = yamlToGraph(ORDERS);
    const out = pipelineToYaml(g.meta, g.nodes, [...g.edges, makeEdge('upload', 'stored')], ORDERS);
    expect(diff(ORDERS, out)).toEqual({ added: ['    depends_on: [augmented, upload]'], removed: ['    depends_on: [augmented]'] });
  });

  it('removes a deleted step with its comment and fixes the blank lines', () => {
    const g = yamlToGraph(ORDERS);
    const nodes = g.nodes.filter((n) => n.id !== 'augmented');
    const edges = g.edges.filter((e) => e.source !== 'augmented' && e.target !== 'augmented');
    const out = pipelineToYaml(g.meta, nodes, edges, ORDERS);
    expect(out).not.toMatch(/id: augmented|SDMetrics|sparse pairs|depends_on: \[augmented/);
    expect(out).toContain([
      '    config: {condition: "status in (\'paid\', \'shipped\')"}',
      '',
      '  - id: stored',
      '    type: write',
      '    config: {path: "out/uploads/{partition}.parquet"}',
      '',
    ].join('\n'));
    const first = pipelineToYaml(g.meta, g.nodes.slice(1), g.edges.filter((e) => e.source !== 'upload'), ORDERS);
    expect(first).toContain('steps:\n  - id: profiled\n    type: profile\n    description:');
  });

  it('appends a new step in the generator style and writes ui only for moved steps', () => {
    const g = yamlToGraph(ORDERS);
    const moved = withNode(g.nodes, 'paid', (n) => ({ ...n, position: { x: 10.2, y: 20.7 } }));
    const nodes = [...moved, stepNode('filter_1', 'filter', { x: 300, y: 40 }, { condition: 'a > 1' })];
    const out = pipelineToYaml(g.meta, nodes, [...g.edges, makeEdge('stored', 'filter_1')], ORDERS);
    expect(out).toBe(
      ORDERS.replace('{condition: "status in (\'paid\', \'shipped\')"}\n', '$&    ui: { x: 10, y: 21 }\n') +
        ['', '  - id: filter_1', '    type: filter', '    depends_on: [ stored ]', '    config:',
          '      condition: a > 1', '    ui: { x: 300, y: 40 }', ''].join('\n'),
    );
  });

  it('edits only the top-level name and description', () => {
    const g = yamlToGraph(ORDERS);
    const out = pipelineToYaml({ ...g.meta, name: 'orders2', description: 'Short.' }, g.nodes, g.edges, ORDERS);
    const [head, rest] = [out.slice(0, out.indexOf('owners:')), out.slice(out.indexOf('owners:'))];
    expect(head).toBe('name: orders2\ndescription: >\n  Short.\n');
    expect(rest).toBe(ORDERS.slice(ORDERS.indexOf('owners:')));
    const none = pipelineToYaml({ ...g.meta, description: '' }, g.nodes, g.edges, ORDERS);
    expect(none).toBe(`name: order_uploads\n${ORDERS.slice(ORDERS.indexOf('owners:'))}`);
    const bare = 'name: p # the name\nsteps:\n  - id: a\n    type: csv\n';
    const added = yamlToGraph(bare);
    expect(pipelineToYaml({ ...added.meta, description: 'd' }, added.nodes, added.edges, bare))
      .toBe('name: p # the name\ndescription: d\nsteps:\n  - id: a\n    type: csv\n');
  });

  it('keeps a step description, depends_on and end-of-line comments of untouched keys', () => {
    const text = '# header\nname: p\nsteps:\n- id: a  # source\n  type: csv\n  config:\n    path: a.csv  # input\n    sep: ";"\n- id: b\n  type: filter\n  depends_on: a\n';
    const g = yamlToGraph(text);
    const nodes = withNode(g.nodes, 'a', (n) => ({ ...n, data: { ...n.data, config: { path: 'b.csv', sep: ';' }, description: 'The input.' } }));
    expect(pipelineToYaml(g.meta, nodes, g.edges, text)).toBe(
      '# header\nname: p\nsteps:\n- id: a  # source\n  type: csv\n  description: The input.\n  config:\n    path: b.csv  # input\n    sep: ";"\n- id: b\n  type: filter\n  depends_on: a\n',
    );
  });

  it('is the base of the next edits once saved (rebased ids)', () => {
    const g = yamlToGraph(ORDERS);
    const r = renameStep(g.nodes, g.edges, 'paid', 'paid_orders');
    const saved = pipelineToYaml(g.meta, r.nodes, r.edges, ORDERS);
    const nodes = rebaseNodes(r.nodes);
    expect(nodes.find((n) => n.id === 'paid_orders').data.baseId).toBe('paid_orders');
    expect(pipelineToYaml(g.meta, nodes, r.edges, saved)).toBe(saved);
  });

  it('writes a new pipeline exactly as before (no base)', () => {
    const { nodes, edges } = graph();
    const meta = { ...emptyMeta(), name: 'p', description: 'd' };
    expect(pipelineToYaml(meta, nodes, edges, null)).toBe(pipelineToYaml(meta, nodes, edges));
    expect(pipelineToYaml(meta, nodes, edges, null)).toMatch(/^name: p\ndescription: d\nsteps:\n {2}- id: csv_1\n/);
  });

  it('regenerates text it cannot edit in place (a flow sequence of steps)', () => {
    const text = 'name: p\nsteps: [{id: a, type: csv}]\n';
    const g = yamlToGraph(text);
    expect(pipelineToYaml(g.meta, g.nodes, g.edges, text)).toBe(pipelineToYaml(g.meta, g.nodes, g.edges));
  });
});

describe('scalars as the server (PyYAML) reads them', () => {
  const odd = { columns: ['2024-01-01', '1_000', '12:30', '0b101', 'on', 'yes', '='], rate: 1e-7, n: 3 };
  it('quotes strings YAML 1.1 would read as other types and writes exponent floats with a dot', () => {
    const nodes = [stepNode('csv_1', 'csv', { x: 0, y: 0 }, { path: 'a.csv', ...odd })];
    const text = pipelineToYaml({ ...emptyMeta(), name: 'p' }, nodes, []);
    for (const quoted of ['"2024-01-01"', '"1_000"', '"12:30"', '"0b101"']) expect(text).toContain(quoted);
    expect(text).toContain('rate: 1.0e-7');
    expect(text).not.toMatch(/"on"|"yes"/); // only true/false are booleans there
    // read back by the server's rules: every value as it was
    const config = YAML.parse(text, YAML_OPTIONS).steps[0].config;
    expect(config.columns).toEqual(odd.columns);
    expect(config.rate).toBe(1e-7);
  });
  it('does the same when editing a loaded file in place', () => {
    const base = 'name: p\nsteps:\n  - id: csv_1  # the orders\n    type: csv\n    config: {path: a.csv, delimiter: ","}\n';
    const g = yamlToGraph(base);
    const nodes = g.nodes.map((n) => ({ ...n, data: { ...n.data, config: { ...n.data.config, delimiter: '12:30' } } }));
    const text = pipelineToYaml(g.meta, nodes, g.edges, base);
    expect(text).toContain('"12:30"');
    expect(text).toContain('# the orders');
  });
});
