import { errorText } from '../lib/errors.js';

/** Every validator error, those without a step too; clicking one selects its step. */
export default function ErrorList({ errors, failure, onSelect }) {
  return (
    <section className="panel-section">
      <h4>Problems</h4>
      {failure && <p className="problem">{failure}</p>}
      <ul data-testid="errors" className="error-list">
        {errors.map((e, i) => (
          <li key={i} className={e.step ? 'clickable' : ''} onClick={() => e.step && onSelect(e.step)}>
            {e.step && <span className="err-step">{e.step}</span>}
            {e.line ? <span className="err-line">line {e.line}</span> : null}
            <span className="err-msg">{errorText(e)}</span>
            {e.fix && <span className="err-fix">{e.fix}</span>}
          </li>
        ))}
      </ul>
      {!errors.length && !failure && <p className="muted">No problems.</p>}
    </section>
  );
}
