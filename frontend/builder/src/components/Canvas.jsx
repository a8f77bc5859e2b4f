import { Background, Controls, MiniMap, ReactFlow } from '@xyflow/react';
import { DND_TYPE } from './Palette.jsx';
import StepNode from './StepNode.jsx';
import { canConnect } from '../lib/graph.js';

const NODE_TYPES = { step: StepNode };
const DELETE_KEYS = ['Delete', 'Backspace'];
const FIT = { padding: 0.2, maxZoom: 1 };

/** The React Flow canvas: drop palette items (type, screen point), connect, select, delete. */
export default function Canvas({ nodes, edges, onNodesChange, onEdgesChange, onConnect, onDrop, onSelect, nodeColor }) {
  return (
    <div
      className="canvas"
      data-testid="canvas"
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
      }}
      onDrop={(e) => {
        e.preventDefault();
        const type = e.dataTransfer.getData(DND_TYPE);
        if (type) onDrop(type, { x: e.clientX, y: e.clientY });
      }}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={(c) => canConnect(c.source, c.target, edges)}
        onSelectionChange={({ nodes: sel }) => onSelect(sel)}
        deleteKeyCode={DELETE_KEYS}
        proOptions={{ hideAttribution: true }}
        fitViewOptions={FIT}
        minZoom={0.1}
      >
        <Background gap={20} />
        <Controls />
        <MiniMap pannable zoomable nodeColor={nodeColor} />
      </ReactFlow>
      {!nodes.length && <div className="empty-hint">Empty canvas: add a source from the palette</div>}
    </div>
  );
}
