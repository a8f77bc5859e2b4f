import { memo, useContext } from 'react';
import { Handle, Position } from '@xyflow/react';
import { BuilderContext } from '../context.js';
import { errorText } from '../lib/errors.js';
import { failureHeadline, nodeStatus } from '../lib/runEvents.js';

/** A step on the canvas: type, id, run status, validator errors, link to its Dagster asset. */
function StepNode({ id, data, selected }) {
  const ctx = useContext(BuilderContext);
  const type = ctx.types[data.stepType];
  const color = (type && ctx.colors[type.kind]) || '#9e9e9e';
  const errors = ctx.errors[id] || [];
  const step = ctx.run.steps[id] || {};
  const status = nodeStatus(ctx.run, id);
  const assetUrl = `${ctx.dagsterUrl.replace(/\/$/, '')}/assets/${encodeURIComponent(ctx.pipeline)}/${encodeURIComponent(id)}`;
  const classes = ['step-node', `status-${status}`, selected ? 'selected' : '', errors.length ? 'has-errors' : '', type ? '' : 'unknown-type'];
  return (
    <div data-testid={`node-${id}`} data-status={status} className={classes.join(' ')} style={{ '--kind': color }}>
      {type?.max_inputs !== 0 && <Handle type="target" position={Position.Left} />}
      <div className="step-head">
        <span className="step-type" title={type?.description}>{type?.label || data.stepType}</span>
        {errors.length > 0 && (
          <span data-testid={`node-error-${id}`} className="step-badge" title={errors.map(errorText).join('\n')}>
            ⚠ {errors.length}
            <span className="sr-only">{errors.map(errorText).join('; ')}</span>
          </span>
        )}
      </div>
      <div className="step-id">{id}</div>
      <div className="step-foot">
        <span className={`step-status status-text-${status}`}>{status}</span>
        <a data-testid={`asset-link-${id}`} className="nodrag asset-link" href={assetUrl} target="_blank" rel="noreferrer" title="Open the asset in the Dagster UI">
          asset ↗
        </a>
      </div>
      {step.error && <div className="step-failure" title={step.error}>{failureHeadline(step.error)}</div>}
      {type?.kind !== 'sink' && <Handle type="source" position={Position.Right} />}
    </div>
  );
}

export default memo(StepNode);
