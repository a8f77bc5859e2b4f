import { useState } from 'react';

/** The generated YAML, always current, with a copy button. */
export default function YamlPanel({ yaml }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(yaml);
      setCopied('copied');
    } catch (exc) {
      setCopied(`copy failed: ${exc.message}`);
    }
    setTimeout(() => setCopied(''), 2000);
  };
  return (
    <section className="panel-section yaml-panel">
      <h4>
        YAML
        <button type="button" data-testid="copy-yaml" className="small" onClick={copy}>Copy</button>
        <span className="muted">{copied}</span>
      </h4>
      <textarea data-testid="yaml" readOnly value={yaml} spellCheck={false} wrap="off" />
    </section>
  );
}
