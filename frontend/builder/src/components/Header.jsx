/** Pipeline name and description, validity, load, save and run. */
export default function Header({
  meta, onMeta, validity, pending, pipelines, loadedName, onLoad, onNew,
  saveLabel, onSave, saveStatus, runLabel, canRun, onRun, runStatus,
}) {
  return (
    <header className="topbar">
      <div className="brand">DatasetGen <span>builder</span></div>
      <input
        data-testid="pipeline-name"
        className="name-input"
        value={meta.name}
        placeholder="pipeline_name"
        aria-label="Pipeline name"
        onChange={(e) => onMeta({ ...meta, name: e.target.value.trim() })}
      />
      <input
        data-testid="pipeline-description"
        className="description-input"
        value={meta.description}
        placeholder="What this pipeline makes"
        aria-label="Pipeline description"
        onChange={(e) => onMeta({ ...meta, description: e.target.value })}
      />
      <span data-testid="validity" className={`validity ${validity === 'valid' ? 'ok' : 'bad'} ${pending ? 'pending' : ''}`}>
        {validity}
      </span>
      <div className="spacer" />
      <select aria-label="Load a pipeline" value={loadedName || ''} onChange={(e) => (e.target.value ? onLoad(e.target.value) : onNew())}>
        <option value="">New pipeline</option>
        {pipelines.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}{p.writable === false ? ' (read-only)' : ''}
          </option>
        ))}
      </select>
      <button type="button" data-testid="save" className="primary" onClick={onSave}>{saveLabel}</button>
      <span data-testid="save-status" className={`status-text ${saveStatus.ok ? 'ok' : 'bad'}`} title={saveStatus.text}>{saveStatus.text}</span>
      <button type="button" data-testid="run" onClick={onRun} disabled={!canRun}>{runLabel}</button>
      <span data-testid="run-status" className={`status-text run-status-${(runStatus || '').toLowerCase()}`}>{runStatus || ''}</span>
    </header>
  );
}
