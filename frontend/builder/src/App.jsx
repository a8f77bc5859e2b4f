import { useCallback, useEffect, useMemo, useState } from 'react';
import { addEdge, useEdgesState, useNodesInitialized, useNodesState, useReactFlow } from '@xyflow/react';
import { api, clearToken, saveToken, takeToken } from './api.js';
import { BuilderContext } from './context.js';
import Canvas from './components/Canvas.jsx';
import ConfigPanel from './components/ConfigPanel.jsx';
import ErrorList from './components/ErrorList.jsx';
import Header from './components/Header.jsx';
import Palette from './components/Palette.jsx';
import TokenPrompt from './components/TokenPrompt.jsx';
import YamlPanel from './components/YamlPanel.jsx';
import { useRun } from './hooks/useRun.js';
import { useValidation } from './hooks/useValidation.js';
import { errorsByStep, errorsFromDetail, validityText } from './lib/errors.js';
import { canConnect, dependsOn, makeEdge, nextStepId, renameProblem, renameStep } from './lib/graph.js';
import { emptyMeta, pipelineToYaml, rebaseNodes, stepNode, yamlToGraph } from './lib/pipelineYaml.js';

const NO_STATUS = { ok: true, text: '' };

/** The builder screen: palette, canvas, config panel, errors and YAML. */
export default function App() {
  const [token, setToken] = useState(() => takeToken());
  const [tokenReason, setTokenReason] = useState('');
  const [catalog, setCatalog] = useState(null);
  const [catalogError, setCatalogError] = useState('');
  const [pipelines, setPipelines] = useState([]);
  const [meta, setMeta] = useState(emptyMeta);
  const [nodes, setNodes, onNodesChange] = useNodesState([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState([]);
  const [selectedId, setSelectedId] = useState(null);
  const [saved, setSaved] = useState(null); // {name, yaml, writable}
  const [base, setBase] = useState(null); // the loaded/saved file's text, edited in place
  const [saveStatus, setSaveStatus] = useState(NO_STATUS);
  const [loadError, setLoadError] = useState('');
  const { screenToFlowPosition, fitView } = useReactFlow();
  const [fitPending, setFitPending] = useState(false);
  const nodesReady = useNodesInitialized();
  useEffect(() => {
    if (fitPending && nodesReady) {
      fitView({ padding: 0.15, maxZoom: 1 });
      setFitPending(false);
    }
  }, [fitPending, nodesReady, fitView]);

  const unauthorized = useCallback(() => {
    clearToken();
    setToken('');
    setTokenReason('The API refused the token (expired or invalid); paste a new one.');
  }, []);
  const call = useCallback(
    async (path, options = {}) => {
      try {
        return await api(path, { ...options, token });
      } catch (exc) {
        if (exc.status === 401) unauthorized();
        throw exc;
      }
    },
    [token, unauthorized],
  );

  const yaml = useMemo(() => pipelineToYaml(meta, nodes, edges, base), [meta, nodes, edges, base]);
  // a read-only (repository) pipeline is saved as a new one: its name then counts as taken
  const existing = saved && saved.writable && saved.name === meta.name ? saved.name : null;
  const [validation, setValidation] = useValidation(yaml, existing, token, unauthorized);
  const { run, error: runError, start: startRun, reset: resetRun } = useRun(token, unauthorized);
  const byStep = useMemo(() => errorsByStep(validation.errors), [validation.errors]);

  const refreshPipelines = useCallback(async () => {
    try {
      const res = await call('/api/v1/pipelines?limit=1000');
      setPipelines(res.items || []);
    } catch (exc) {
      setLoadError(`pipelines: ${exc.message}`);
    }
  }, [call]);

  const load = useCallback(
    async (name) => {
      setLoadError('');
      try {
        const res = await call(`/api/v1/pipelines/${encodeURIComponent(name)}`);
        const g = yamlToGraph(res.yaml);
        resetRun();
        setMeta(g.meta);
        setNodes(g.nodes);
        setEdges(g.edges);
        setSelectedId(null);
        setBase(res.yaml);
        setSaved({ name: res.name, yaml: pipelineToYaml(g.meta, g.nodes, g.edges, res.yaml), writable: res.writable !== false });
        setSaveStatus(NO_STATUS);
        setFitPending(true);
      } catch (exc) {
        setLoadError(`load ${name}: ${exc.message}`);
      }
    },
    [call, resetRun, setNodes, setEdges],
  );

  const startNew = useCallback(() => {
    resetRun();
    setMeta(emptyMeta());
    setNodes([]);
    setEdges([]);
    setSelectedId(null);
    setBase(null);
    setSaved(null);
    setSaveStatus(NO_STATUS);
  }, [resetRun, setNodes, setEdges]);

  useEffect(() => {
    if (!token) return;
    setLoadError('');
    call('/api/v1/step-types')
      .then((c) => { setCatalog(c); setCatalogError(''); })
      .catch((exc) => setCatalogError(`step types: ${exc.message}`));
    refreshPipelines();
    const wanted = new URLSearchParams(window.location.search).get('pipeline');
    if (wanted) load(wanted);
  }, [token]); // eslint-disable-line react-hooks/exhaustive-deps

  const addStep = useCallback(
    (type, position) => {
      const id = nextStepId(type, nodes.map((n) => n.id));
      const pos = position || { x: 40 + (nodes.length % 4) * 60, y: 40 + nodes.length * 30 };
      setNodes([...nodes.map((n) => ({ ...n, selected: false })), { ...stepNode(id, type, pos), selected: true }]);
      setSelectedId(id);
    },
    [nodes, setNodes],
  );

  const onDrop = useCallback(
    (type, point) => {
      const p = screenToFlowPosition(point);
      addStep(type, { x: Math.round(p.x), y: Math.round(p.y) });
    },
    [screenToFlowPosition, addStep],
  );

  const onConnect = useCallback(
    (c) => setEdges((es) => (canConnect(c.source, c.target, es) ? addEdge(makeEdge(c.source, c.target), es) : es)),
    [setEdges],
  );

  const selected = nodes.find((n) => n.id === selectedId) || null;
  const types = useMemo(() => Object.fromEntries((catalog?.items || []).map((i) => [i.name, i])), [catalog]);
  const colors = useMemo(() => Object.fromEntries((catalog?.groups || []).map((g) => [g.kind, g.color])), [catalog]);

  const renameSelected = (newId) => {
    const out = renameStep(nodes, edges, selectedId, newId);
    setNodes(out.nodes);
    setEdges(out.edges);
    setSelectedId(newId);
  };
  const changeSelected = (data) => setNodes((ns) => ns.map((n) => (n.id === selectedId ? { ...n, data } : n)));
  const inputColumns = useMemo(() => {
    if (!selected) return [];
    const cols = dependsOn(selected.id, edges).flatMap((d) => validation.columns?.[d] || []);
    return [...new Set(cols)];
  }, [selected, edges, validation.columns]);

  const writable = !saved || saved.writable;
  const isUpdate = saved && writable && saved.name === meta.name;
  const dirty = !saved || saved.yaml !== yaml;
  const save = async () => {
    setSaveStatus({ ok: true, text: 'saving…' });
    try {
      const res = isUpdate
        ? await call(`/api/v1/pipelines/${encodeURIComponent(saved.name)}`, { method: 'PATCH', body: { yaml } })
        : await call('/api/v1/pipelines', { method: 'POST', body: { yaml } });
      // the server may add keys (e.g. the workspace tag): adopt its file so nothing looks unsaved
      const kept = res.yaml ? yamlToGraph(res.yaml).meta : meta;
      const file = res.yaml || yaml; // the saved file is the base of the next edits
      const rebased = rebaseNodes(nodes);
      setMeta(kept);
      setNodes(rebased);
      setBase(file);
      setSaved({ name: res.name || meta.name, yaml: pipelineToYaml(kept, rebased, edges, file), writable: res.writable !== false });
      setSaveStatus({ ok: true, text: 'saved' });
      refreshPipelines();
    } catch (exc) {
      if (exc.status === 422) setValidation((v) => ({ ...v, errors: errorsFromDetail(exc.detail), pending: false }));
      setSaveStatus({ ok: false, text: exc.message });
    }
  };
  const saveLabel = isUpdate ? 'Save' : saved ? 'Save as new' : 'Save';
  // switching pipelines drops unsaved edits: ask first
  const keepOrDiscard = () => !dirty || !nodes.length || window.confirm('Discard the unsaved changes?');
  const canRun = !!saved && !dirty && saved.name === meta.name;
  const runLabel = canRun ? 'Run' : 'Run (save first)';

  const ctx = useMemo(
    () => ({ types, colors, errors: byStep, run, pipeline: meta.name, dagsterUrl: catalog?.dagster_ui_url || '' }),
    [types, colors, byStep, run, meta.name, catalog],
  );
  const validity = validityText(validation.errors);

  return (
    <BuilderContext.Provider value={ctx}>
      <div className="app">
        <Header
          meta={meta}
          onMeta={setMeta}
          validity={validity}
          pending={validation.pending}
          pipelines={pipelines}
          loadedName={saved?.name}
          onLoad={(name) => keepOrDiscard() && load(name)}
          onNew={() => keepOrDiscard() && startNew()}
          saveLabel={saveLabel}
          onSave={save}
          saveStatus={saveStatus}
          runLabel={runLabel}
          canRun={canRun}
          onRun={() => startRun(meta.name)}
          runStatus={run.status}
        />
        {(loadError || runError) && (
          <div className="banner problem" role="alert">{[loadError, runError].filter(Boolean).join(' · ')}</div>
        )}
        <main className="workspace">
          <Palette catalog={catalog} error={catalogError} onAdd={(t) => addStep(t)} />
          <Canvas
            nodes={nodes}
            edges={edges}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onDrop={onDrop}
            onSelect={(sel) => setSelectedId(sel.length === 1 ? sel[0].id : sel.length ? selectedId : null)}
            nodeColor={(n) => colors[types[n.data?.stepType]?.kind] || '#bbb'}
          />
          <aside className="sidebar">
            {selected ? (
              <ConfigPanel
                node={selected}
                type={types[selected.data.stepType]}
                color={colors[types[selected.data.stepType]?.kind]}
                errors={byStep[selected.id] || []}
                inputColumns={inputColumns}
                failure={run.steps[selected.id]?.error}
                renameProblem={(v) => renameProblem(selected.id, v, nodes)}
                onRename={renameSelected}
                onChange={changeSelected}
              />
            ) : (
              <section className="panel-section"><p className="muted">Select a step to configure it.</p></section>
            )}
            <ErrorList errors={validation.errors} failure={validation.failure} onSelect={setSelectedId} />
            <YamlPanel yaml={yaml} />
          </aside>
        </main>
        {!token && (
          <TokenPrompt
            reason={tokenReason}
            onSave={(t) => {
              saveToken(t);
              setTokenReason('');
              setToken(t);
            }}
          />
        )}
      </div>
    </BuilderContext.Provider>
  );
}
