import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeEdge } from './graph.js';
import { emptyMeta, pipelineToYaml, stepNode, yamlToGraph } from './pipelineYaml.js';

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
