"""The optimizer: rewrite rules over a pipeline's physical plan, each inspectable and switchable.

The asset graph always stays as written (one asset per step, same keys and dependencies).
What a rule changes is how each asset is computed:

- filter_pushdown: a filter's condition moves below the steps that do not write the columns
  it reads (joins, sorts, selects, other filters) down to the sources, so fewer rows are read,
  joined and stored. It moves only through steps whose output has no other consumer and is
  not a sink or a quality gate; the filter step itself then passes its input through.
- projection_pushdown: sources read only the columns used downstream (parquet column chunks,
  CSV usecols, SQL select lists) and intermediate assets keep only the columns their
  consumers use. Any step whose needs are unknown keeps everything (fail closed).
- join_reorder: inner joins of three or more inputs join the smallest estimated inputs first;
  output columns keep the written order.

So, with the optimizer on, an intermediate asset may hold only the rows and columns its
consumers need. Leaf assets (nothing downstream) and sinks are always exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datasetgen_assets.pipeline.condition import parse_condition
from datasetgen_assets.pipeline.spec import Pipeline
from datasetgen_assets.steps.registry import REGISTRY, StepConfig


@dataclass
class PlanNode:
    """How one step's asset is computed."""

    id: str
    type: str
    inputs: list[str]
    config: StepConfig
    input_filters: dict[int, list[str]] = field(default_factory=dict)
    output_filters: list[str] = field(default_factory=list)
    passthrough: bool = False  # a filter whose condition moved below
    keep_columns: list[str] | None = None  # projection of the stored output
    input_order: list[int] | None = None  # join_reorder
    output_columns: list[str] | None = None  # column order to restore after a reorder
    estimated_rows: int | None = None

    def describe(self) -> str:
        parts = [f"{self.id} [{self.type}]"]
        if self.inputs:
            order = self.input_order or list(range(len(self.inputs)))
            parts.append("<- " + ", ".join(self.inputs[i] for i in order))
        if self.passthrough:
            parts.append("(pass-through: condition pushed down)")
        for i, conds in sorted(self.input_filters.items()):
            parts.append(f"pre-filter {self.inputs[i]}: " + " and ".join(f"({c})" for c in conds))
        if self.output_filters:
            parts.append("filter: " + " and ".join(f"({c})" for c in self.output_filters))
        cols = getattr(self.config, "columns", None)
        if REGISTRY[self.type].projectable and cols:
            parts.append(f"read columns: {', '.join(cols)}")
        if self.keep_columns is not None:
            parts.append(f"keep columns: {', '.join(self.keep_columns)}")
        if self.estimated_rows is not None:
            parts.append(f"~{self.estimated_rows:,} rows")
        return "  ".join(parts)


@dataclass
class Firing:
    """One application of a rule, for `explain`."""

    rule: str
    step: str
    detail: str


@dataclass
class Plan:
    """The physical plan of one pipeline."""

    pipeline: Pipeline
    nodes: dict[str, PlanNode]  # topological order
    firings: list[Firing] = field(default_factory=list)

    def consumers(self, step_id: str) -> list[str]:
        return [n.id for n in self.nodes.values() if step_id in n.inputs]

    def describe(self) -> str:
        return "\n".join("  " + n.describe() for n in self.nodes.values())

    def parallel_groups(self) -> list[list[str]]:
        """Steps by dependency level: steps of one level can run at the same time."""
        level: dict[str, int] = {}
        for n in self.nodes.values():
            level[n.id] = 1 + max((level[i] for i in n.inputs), default=-1)
        groups: dict[int, list[str]] = {}
        for sid, lv in level.items():
            groups.setdefault(lv, []).append(sid)
        return [groups[k] for k in sorted(groups)]


def initial_plan(pipeline: Pipeline) -> Plan:
    """The plan as written: every step computed exactly as declared."""
    nodes = {}
    for sid in pipeline.order:
        step = pipeline.step(sid)
        nodes[sid] = PlanNode(sid, step.type, list(step.depends_on), pipeline.configs[sid])
    plan = Plan(pipeline, nodes)
    _estimate(plan)
    return plan


def optimize(pipeline: Pipeline, enabled: bool = True) -> Plan:
    """Apply the rules switched on in the pipeline's `optimize:` block."""
    plan = initial_plan(pipeline)
    if not enabled:
        return plan
    rules = pipeline.spec.rules
    if rules.filter_pushdown:
        _filter_pushdown(plan)
    if rules.join_reorder:
        _join_reorder(plan)
    if rules.projection_pushdown:
        _projection_pushdown(plan)
        _drop_redundant_projections(plan)
    _estimate(plan)
    return plan


# ----------------------------------------------------------------------------- helpers


def _movable(plan: Plan, step_id: str) -> bool:
    """May this step's stored output change (fewer rows or columns)? Only when exactly one
    step consumes it and it is not a sink or a quality gate."""
    node = plan.nodes[step_id]
    return len(plan.consumers(step_id)) == 1 and REGISTRY[node.type].kind in {"source", "transform"}


def _is_source(plan: Plan, step_id: str) -> bool:
    return REGISTRY[plan.nodes[step_id].type].kind == "source"


def _cols(plan: Plan, step_id: str) -> list[str] | None:
    return plan.pipeline.columns.get(step_id)


# ----------------------------------------------------------------------------- rules


def _filter_pushdown(plan: Plan) -> None:
    for node in list(plan.nodes.values()):
        if node.type != "filter" or not _movable(plan, node.inputs[0]):
            continue
        cond = node.config.condition  # type: ignore[attr-defined]
        landed = _push(plan, node.inputs[0], cond)  # always lands somewhere
        node.passthrough = True
        plan.firings.append(Firing(
            "filter_pushdown", node.id,
            f"condition ({cond}) now applied in " + ", ".join(f"'{s}'" for s in landed),
        ))


def _push(plan: Plan, step_id: str, cond: str) -> list[str]:
    """Make `step_id`'s output satisfy `cond` as early as possible; returns where it landed.
    Precondition: `step_id`'s output may change (see _movable)."""
    node = plan.nodes[step_id]
    st = REGISTRY[node.type]
    cols = parse_condition(cond).columns
    targets = [] if st.kind == "source" else st.filter_targets(
        node.config, cols, [_cols(plan, i) for i in node.inputs])
    if not targets:
        node.output_filters.append(cond)  # also kept after a push into the source: it is
        if st.push_filter is not None:    # idempotent and makes pandas the final arbiter
            node.config = st.push_filter(node.config, cond)
            return [f"{step_id} (read with WHERE)"]
        return [step_id]
    landed: list[str] = []
    for t in targets:
        upstream = node.inputs[t]
        if _movable(plan, upstream):
            landed += _push(plan, upstream, cond)
        else:
            node.input_filters.setdefault(t, []).append(cond)
            landed.append(f"{step_id} (input {upstream})")
    return landed


def _join_reorder(plan: Plan) -> None:
    for node in plan.nodes.values():
        cfg: Any = node.config
        if node.type != "join" or cfg.how != "inner" or len(node.inputs) < 3 or not cfg.on:
            continue
        ests = [plan.nodes[i].estimated_rows for i in node.inputs]
        cols = [_cols(plan, i) for i in node.inputs]
        out_cols = _cols(plan, node.id)
        if any(e is None for e in ests) or any(c is None for c in cols) or out_cols is None:
            continue
        non_keys = [set(c) - set(cfg.on) for c in cols if c is not None]
        if any(a & b for i, a in enumerate(non_keys) for b in non_keys[i + 1:]):
            continue  # suffixes would depend on the order: leave it
        order = sorted(range(len(ests)), key=lambda i: (ests[i], i))
        if order != list(range(len(ests))):
            node.input_order = order
            node.output_columns = out_cols
            plan.firings.append(Firing(
                "join_reorder", node.id,
                "join order " + " ⋈ ".join(f"{node.inputs[i]}(~{ests[i]:,})" for i in order),
            ))


def _condition_columns(conditions: list[str]) -> set[str]:
    return set().union(*(parse_condition(c).columns for c in conditions)) if conditions else set()


def _projection_pushdown(plan: Plan) -> None:
    demands: dict[str, list[set[str] | None]] = {sid: [] for sid in plan.nodes}
    for sid in reversed(list(plan.nodes)):
        node = plan.nodes[sid]
        st = REGISTRY[node.type]
        wants = demands[sid]
        if (not plan.consumers(sid) or st.kind not in {"source", "transform"}
                or any(d is None for d in wants)):
            want = None
        else:
            want = set().union(*wants)  # type: ignore[arg-type]
        # what the step must compute: what is kept plus what its own output filters read
        compute = None if want is None else want | _condition_columns(node.output_filters)
        in_cols = [_cols(plan, i) for i in node.inputs]
        per_input = [compute] if node.passthrough else st.needed_inputs(node.config, compute,
                                                                        in_cols)
        for i, upstream in enumerate(node.inputs):
            need = per_input[i] if i < len(per_input) else None
            if need is not None:
                need = need | _condition_columns(node.input_filters.get(i, []))
            demands[upstream].append(need)
        _apply_projection(plan, node, want, compute)


def _apply_projection(plan: Plan, node: PlanNode, want: set[str] | None,
                      compute: set[str] | None) -> None:
    if want is None or compute is None:
        return
    st = REGISTRY[node.type]
    known = _cols(plan, node.id)
    if st.projectable and getattr(node.config, "columns", None) is None:
        read = [c for c in known if c in compute] if known else sorted(compute)
        if known is None or len(read) < len(known):
            node.config = node.config.model_copy(update={"columns": read})
            plan.firings.append(Firing(
                "projection_pushdown", node.id,
                f"reads {len(read)}" + (f" of {len(known)}" if known else "")
                + f" columns: {', '.join(read)}",
            ))
        known = read
    if known is None or set(known) - want:
        node.keep_columns = [c for c in known if c in want] if known else sorted(want)
        plan.firings.append(Firing(
            "projection_pushdown", node.id,
            f"keeps {len(node.keep_columns)} columns: {', '.join(node.keep_columns)}",
        ))


def _drop_redundant_projections(plan: Plan) -> None:
    """Forget `keep columns` on steps whose input was already projected to those columns."""
    effective: dict[str, list[str] | None] = {}
    for node in plan.nodes.values():
        st = REGISTRY[node.type]
        ins = [effective[i] for i in node.inputs]
        if node.passthrough:
            out = ins[0]
        elif st.projectable and getattr(node.config, "columns", None) is not None:
            out = list(node.config.columns)  # type: ignore[attr-defined]
        else:
            try:
                out = st.infer_columns(node.config, ins, plan.pipeline.context(node.id))
            except Exception:  # unknown after projection: keep the projection
                out = None
        if node.keep_columns is not None and out is not None and set(out) <= set(
                node.keep_columns):
            node.keep_columns = None
            plan.firings = [f for f in plan.firings if not (
                f.rule == "projection_pushdown" and f.step == node.id
                and f.detail.startswith("keeps"))]
        if node.keep_columns is not None and out is not None:
            out = [c for c in out if c in set(node.keep_columns)]
        effective[node.id] = out


def _estimate(plan: Plan) -> None:
    for node in plan.nodes.values():
        st = REGISTRY[node.type]
        ins = [plan.nodes[i].estimated_rows for i in node.inputs]
        try:
            est = st.estimate_rows(node.config, ins, plan.pipeline.context(node.id))
        except Exception:  # an estimate is a hint; never fail planning on it
            est = None
        if node.passthrough:
            est = ins[0]
        if est is not None and node.output_filters:
            est = max(1, est // (4 ** len(node.output_filters)))
        node.estimated_rows = est


def explain(pipeline: Pipeline) -> str:
    """The plan before and after optimization, the rules that fired and what may run in
    parallel."""
    before = initial_plan(pipeline)
    after = optimize(pipeline)
    rules = pipeline.spec.rules
    switches = ", ".join(f"{k}={'on' if v else 'off'}" for k, v in rules.model_dump().items())
    lines = [f"pipeline {pipeline.name} ({pipeline.file})", f"rules: {switches}", "",
             "plan as written:", before.describe(), "", "optimized plan:", after.describe(), ""]
    if after.firings:
        lines.append("rules fired:")
        lines += [f"  - {f.rule} on '{f.step}': {f.detail}" for f in after.firings]
    else:
        lines.append("rules fired: none")
    groups = [g for g in after.parallel_groups() if len(g) > 1]
    if groups:
        lines.append("")
        lines.append("can run in parallel (multiprocess executor):")
        lines += [f"  - {', '.join(g)}" for g in groups]
    return "\n".join(lines)
