import { useState } from 'react';

/** Asks for an API token (from `datasetgen token --role data_scientist`). */
export default function TokenPrompt({ reason, onSave }) {
  const [value, setValue] = useState('');
  return (
    <div className="modal-backdrop">
      <form
        className="modal"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onSave(value.trim());
        }}
      >
        <h2>API token</h2>
        {reason && <p className="problem">{reason}</p>}
        <p className="muted">Paste a token, e.g. from <code>datasetgen token --role data_scientist --workspace default</code> (analysts and viewers can look and validate, not save). It is kept in this tab only.</p>
        <input data-testid="token" type="password" value={value} onChange={(e) => setValue(e.target.value)} autoFocus placeholder="eyJ…" />
        <button data-testid="token-save" type="submit" className="primary">Use token</button>
      </form>
    </div>
  );
}
