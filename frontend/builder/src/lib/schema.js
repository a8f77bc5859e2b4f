// Pydantic JSON schema -> the schema the config form renders, and form data -> step config.

const isNull = (s) => s && s.type === 'null';

/**
 * Simplify a pydantic schema for the form: `anyOf: [X, {type: null}]` becomes X (keeping the
 * outer title, description and default), `default: null` is dropped. Recurses into properties,
 * items, $defs and remaining anyOf/oneOf branches. Pure: returns a new object.
 */
export function simplifySchema(schema) {
  if (Array.isArray(schema)) return schema.map(simplifySchema);
  if (!schema || typeof schema !== 'object') return schema;
  let out = { ...schema };
  for (const key of ['anyOf', 'oneOf']) {
    const branches = out[key];
    if (Array.isArray(branches) && branches.some(isNull)) {
      const rest = branches.filter((b) => !isNull(b));
      delete out[key];
      if (rest.length === 1) out = { ...rest[0], ...out };
      else out[key] = rest;
    }
  }
  if (out.default === null) delete out.default;
  if (Array.isArray(out.prefixItems)) {
    // draft 2020-12 tuples (pydantic's tuple[...]) -> the draft-07 form the form library knows
    out.items = out.prefixItems;
    delete out.prefixItems;
  }
  for (const key of ['properties', '$defs', 'definitions', 'patternProperties']) {
    if (out[key] && typeof out[key] === 'object') {
      out[key] = Object.fromEntries(
        Object.entries(out[key]).map(([k, v]) => [k, simplifySchema(v)]),
      );
    }
  }
  for (const key of ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf']) {
    if (out[key] && typeof out[key] === 'object') out[key] = simplifySchema(out[key]);
  }
  return out;
}

/** Field names that hold column names, so the form offers the known input columns. */
export const COLUMN_FIELD = /(^|_)(column|columns|col|cols|on|by|key|keys|field|fields)$/;

/**
 * Offer `columns` as suggestions (`examples`, rendered as a datalist) on top-level string
 * fields, and string arrays, whose names look like column names.
 */
export function addColumnHints(schema, columns) {
  if (!columns?.length || !schema?.properties) return schema;
  const properties = {};
  for (const [name, prop] of Object.entries(schema.properties)) {
    let p = prop;
    if (COLUMN_FIELD.test(name)) {
      if (p.type === 'string' && !p.enum) p = { ...p, examples: columns };
      else if (p.type === 'array' && p.items?.type === 'string' && !p.items.enum) {
        p = { ...p, items: { ...p.items, examples: columns } };
      }
    }
    properties[name] = p;
  }
  return { ...schema, properties };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const empty = (v) => v === undefined || v === '' || v === null;

/**
 * The step config after a form change: keys the user had set, plus keys whose value the change
 * altered (`shown` is what the form showed before, defaults included). Untouched defaults stay
 * out of the config; cleared values are removed.
 */
export function mergeConfig(config, shown, next) {
  const out = {};
  const keys = new Set([...Object.keys(config || {}), ...Object.keys(next || {})]);
  for (const key of keys) {
    const touched = key in (config || {}) || !same((shown || {})[key], (next || {})[key]);
    if (touched && key in (next || {}) && !empty(next[key])) out[key] = next[key];
  }
  return out;
}

/** Names of required top-level fields. */
export function requiredFields(schema) {
  return Array.isArray(schema?.required) ? schema.required : [];
}
