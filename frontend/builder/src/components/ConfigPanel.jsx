import { Suspense, lazy, useEffect, useState } from 'react';
import { errorText } from '../lib/errors.js';

// the form library and its JSON-schema validator load with the first selected step
const ConfigForm = lazy(() => import('./ConfigForm.jsx'));

/** The selected step: id (rename), description, config form, its errors and run failure. */
export default function ConfigPanel({ node, type, color, errors, inputColumns, failure, renameProblem, onRename, onChange }) {
  const [draftId, setDraftId] = useState(node.id);
  useEffect(() => setDraftId(node.id), [node.id]);
  const problem = draftId !== node.id ? renameProblem(draftId) : null;
  const setData = (patch) => onChange({ ...node.data, ...patch });
  return (
    <section className="panel-section config-panel">
      <h4 style={{ borderColor: color }}>
        <span className="kind-dot" style={{ background: color }} />
        {type?.label || node.data.stepType}
        <span className="muted type-name">{node.data.stepType}</span>
      </h4>
      {type?.description && <p className="type-description">{type.description}</p>}
      {!type && <p className="problem">Unknown step type '{node.data.stepType}'.</p>}
      <label className="field">
        <span>Step id<span className="required">*</span></span>
        <input
          data-testid="step-id"
          value={draftId}
          onChange={(e) => {
            const v = e.target.value.trim();
            setDraftId(v);
            if (!renameProblem(v)) onRename(v);
          }}
        />
        {problem && <span className="problem">{problem}</span>}
        <span className="help">Becomes the asset name; letters, digits and _.</span>
      </label>
      <label className="field">
        <span>Description</span>
        <input value={node.data.description || ''} onChange={(e) => setData({ description: e.target.value })} placeholder="Shown on the asset in Dagster" />
      </label>
      {inputColumns?.length ? (
        <p className="columns-hint" title="Columns of the inputs, from the validator">
          Input columns: {inputColumns.map((c) => <code key={c}>{c}</code>)}
        </p>
      ) : null}
      {type && (
        <Suspense fallback={<p className="muted">Loading the form…</p>}>
          <ConfigForm
            key={`${node.id}:${node.data.stepType}`}
            configSchema={type.config_schema}
            config={node.data.config || {}}
            columns={inputColumns}
            onChange={(config) => setData({ config })}
          />
        </Suspense>
      )}
      {failure && (
        <div className="step-run-failure">
          <strong>Run failed here</strong>
          <pre>{failure}</pre>
        </div>
      )}
      {errors.length > 0 && (
        <ul className="error-list node-errors">
          {errors.map((e, i) => (
            <li key={i}>
              <span className="err-msg">{errorText(e)}</span>
              {e.fix && <span className="err-fix">{e.fix}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
