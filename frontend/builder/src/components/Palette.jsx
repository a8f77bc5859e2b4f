export const DND_TYPE = 'application/datasetgen-step';

/** The step types grouped by kind, each draggable onto the canvas. */
export default function Palette({ catalog, error, onAdd }) {
  if (error) return <aside className="palette"><p className="problem">{error}</p></aside>;
  if (!catalog) return <aside className="palette"><p className="muted">Loading step types…</p></aside>;
  return (
    <aside className="palette" aria-label="Step types">
      {catalog.groups.map((g) => {
        const items = catalog.items.filter((i) => i.kind === g.kind);
        if (!items.length) return null;
        return (
          <section key={g.kind} className="palette-group">
            <h3 style={{ color: g.color, borderColor: g.color }}>{g.label}</h3>
            {items.map((item) => (
              <div
                key={item.name}
                data-testid={`palette-${item.name}`}
                className="palette-item"
                style={{ borderLeftColor: g.color }}
                draggable
                title={item.description}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DND_TYPE, item.name);
                  e.dataTransfer.effectAllowed = 'move';
                }}
                onDoubleClick={() => onAdd(item.name)}
              >
                <span className="palette-label">{item.label}</span>
                <span className="palette-name">
                  {item.name}
                  {item.uses_llm ? <span className="llm" title="Calls a language model">LLM</span> : null}
                </span>
              </div>
            ))}
          </section>
        );
      })}
      <p className="muted hint">Drag a step onto the canvas (or double-click it), then connect the right handle of one step to the left handle of the next.</p>
    </aside>
  );
}
