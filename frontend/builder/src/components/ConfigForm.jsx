import { useMemo } from 'react';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';
import { getDefaultFormState } from '@rjsf/utils';
import { addColumnHints, mergeConfig, simplifySchema } from '../lib/schema.js';

const UI_SCHEMA = { 'ui:submitButtonOptions': { norender: true } };
// Arrays start empty unless required (pydantic's minItems would add blank rows to optional lists).
const DEFAULTS = { arrayMinItems: { populate: 'requiredOnly' } };

/** The form schema of a step type: simplified, untitled at the root, with column hints. */
export function formSchema(configSchema, columns) {
  const s = simplifySchema(configSchema || { type: 'object', properties: {} });
  delete s.title;
  delete s.description;
  return addColumnHints(s, columns);
}

/** A step's config form generated from its JSON schema (ids `cfg-{field}`). */
export default function ConfigForm({ configSchema, config, columns, onChange }) {
  const schema = useMemo(() => formSchema(configSchema, columns), [configSchema, columns]);
  const shown = useMemo(() => getDefaultFormState(validator, schema, config, schema, false, DEFAULTS), [schema, config]);
  if (!Object.keys(schema.properties || {}).length) return <p className="muted">This step type has no settings.</p>;
  return (
    <Form
      className="config-form"
      schema={schema}
      uiSchema={UI_SCHEMA}
      formData={config}
      validator={validator}
      idPrefix="cfg"
      idSeparator="-"
      experimental_defaultFormStateBehavior={DEFAULTS}
      noHtml5Validate
      showErrorList={false}
      onChange={(e) => {
        // the form also reports changes of its own (defaults filled in): pass on real ones only
        const next = mergeConfig(config, shown, e.formData);
        if (JSON.stringify(next) !== JSON.stringify(config)) onChange(next);
      }}
    />
  );
}
