import { describe, expect, it } from 'vitest';
import { addColumnHints, mergeConfig, requiredFields, simplifySchema } from './schema.js';

describe('simplifySchema', () => {
  it('turns optional anyOf into the plain type and drops null defaults', () => {
    const s = simplifySchema({
      properties: {
        sheet: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, title: 'Sheet', description: 'Sheet name.' },
        mode: { anyOf: [{ $ref: '#/$defs/Mode' }, { type: 'null' }] },
        both: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'null' }] },
      },
      $defs: { Mode: { enum: ['a', 'b'], type: 'string' }, N: { properties: { x: { anyOf: [{ type: 'number' }, { type: 'null' }] } } } },
    });
    expect(s.properties.sheet).toEqual({ type: 'string', title: 'Sheet', description: 'Sheet name.' });
    expect(s.properties.mode).toEqual({ $ref: '#/$defs/Mode' });
    expect(s.properties.both.anyOf).toEqual([{ type: 'string' }, { type: 'integer' }]);
    expect(s.$defs.N.properties.x).toEqual({ type: 'number' });
  });
  it('turns prefixItems tuples into draft-07 item lists', () => {
    const s = simplifySchema({ type: 'array', minItems: 2, maxItems: 2, prefixItems: [{ type: 'string' }, { anyOf: [{ type: 'string' }, { type: 'null' }] }] });
    expect(s.prefixItems).toBeUndefined();
    expect(s.items).toEqual([{ type: 'string' }, { type: 'string' }]);
  });
});

describe('addColumnHints', () => {
  const schema = {
    properties: {
      on: { type: 'array', items: { type: 'string' } },
      by: { type: 'string' },
      how: { type: 'string', enum: ['inner'] },
      path: { type: 'string' },
    },
  };
  it('offers columns on column-like string fields only', () => {
    const s = addColumnHints(schema, ['id', 'name']);
    expect(s.properties.on.items.examples).toEqual(['id', 'name']);
    expect(s.properties.by.examples).toEqual(['id', 'name']);
    expect(s.properties.how.examples).toBeUndefined();
    expect(s.properties.path.examples).toBeUndefined();
  });
  it('leaves the schema alone without columns', () => {
    expect(addColumnHints(schema, null)).toBe(schema);
  });
});

describe('mergeConfig', () => {
  it('keeps untouched defaults out of the config', () => {
    const shown = { how: 'inner', on: undefined };
    expect(mergeConfig({}, shown, { how: 'inner', on: ['id'] })).toEqual({ on: ['id'] });
  });
  it('keeps values the user set, even when equal to the default', () => {
    expect(mergeConfig({ how: 'inner' }, { how: 'inner', x: 1 }, { how: 'inner', x: 1 })).toEqual({ how: 'inner' });
    expect(mergeConfig({}, { how: 'inner' }, { how: 'left' })).toEqual({ how: 'left' });
  });
  it('removes cleared values', () => {
    expect(mergeConfig({ path: 'a' }, { path: 'a' }, { path: '' })).toEqual({});
    expect(mergeConfig({ path: 'a' }, { path: 'a' }, {})).toEqual({});
  });
  it('lists required fields', () => {
    expect(requiredFields({ required: ['path'] })).toEqual(['path']);
    expect(requiredFields({})).toEqual([]);
  });
});
