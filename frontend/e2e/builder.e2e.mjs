// End-to-end script for the visual pipeline builder, driven by tests/test_builder_e2e.py.
//
// Debian's Chromium headless through playwright-core (no browser download). Builds a
// three-node pipeline by drag and drop, sees validation errors on the nodes, fixes them, saves,
// runs, loads a failing pipeline and runs it, and reloads the first one. Writes what the
// Python side compares (YAML panel text, drop points, node positions, asset links) to $RESULT.
//
// Environment: BUILDER_URL (the API, e.g. http://127.0.0.1:8000), BUILDER_TOKEN (a bearer
// token that may save and run), ARTIFACTS (folder for screenshots), RESULT (JSON output file),
// PIPELINE (name to build, default builder_e2e), FAIL_PIPELINE (an existing pipeline whose
// filter_1 fails at run time), CSV_PATH, OUT_PATH (config paths to type), CHROMIUM,
// RUN_TIMEOUT_MS (default 90000).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const BASE = (env.BUILDER_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
const TOKEN = env.BUILDER_TOKEN || '';
const ARTIFACTS = env.ARTIFACTS || path.resolve('test-artifacts');
const RESULT = env.RESULT || path.join(ARTIFACTS, 'builder-e2e.json');
const NAME = env.PIPELINE || 'builder_e2e';
const FAIL_NAME = env.FAIL_PIPELINE || '';
const CSV_PATH = env.CSV_PATH || 't.csv';
const OUT_PATH = env.OUT_PATH || 'out/builder_e2e.csv';
const RUN_TIMEOUT = Number(env.RUN_TIMEOUT_MS || 90_000);
const UI_TIMEOUT = 15_000;
// drop points relative to the canvas' top-left corner
const DROPS = [
  ['csv', { x: 40, y: 140 }],
  ['filter', { x: 300, y: 240 }],
  ['write', { x: 560, y: 140 }],
];

const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const result = { pipeline: NAME, screenshots: [] };
const testid = (page, id) => page.getByTestId(id);
const nodeEl = (page, id) => page.locator(`.react-flow__node[data-id="${id}"]`);

function hexToRgb(hex) {
  const n = parseInt(hex.replace('#', ''), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

async function stepTypes() {
  const r = await fetch(`${BASE}/api/v1/step-types`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  if (r.status !== 200) throw new Error(`GET /api/v1/step-types: ${r.status} ${await r.text()}`);
  return r.json();
}

/** Until `fn()` returns a truthy value (returned), or fail with `what` after `ms`. */
async function until(what, fn, ms = UI_TIMEOUT) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Flow position of a node element from its CSS transform (React Flow: translate(x, y)). */
async function nodePosition(page, id) {
  return nodeEl(page, id).evaluate((el) => {
    const m = new DOMMatrixReadOnly(getComputedStyle(el).transform);
    return { x: m.m41, y: m.m42 };
  });
}

/** Canvas point (relative to the canvas wrapper) -> flow coordinates, from the viewport. */
async function toFlow(page, point) {
  return testid(page, 'canvas').evaluate((canvas, p) => {
    const c = canvas.getBoundingClientRect();
    const flow = canvas.querySelector('.react-flow') || canvas;
    const f = flow.getBoundingClientRect();
    const vp = canvas.querySelector('.react-flow__viewport');
    const m = new DOMMatrixReadOnly(vp ? getComputedStyle(vp).transform : 'none');
    return { x: (c.left + p.x - f.left - m.m41) / m.a, y: (c.top + p.y - f.top - m.m42) / m.d };
  }, point);
}

async function center(locator) {
  const b = await locator.boundingBox();
  assert.ok(b, 'element has no box');
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Drag from the right handle of `from` to the left handle of `to` with the mouse. */
async function connect(page, from, to) {
  const edges = await page.locator('.react-flow__edge').count();
  const a = await center(nodeEl(page, from).locator('.react-flow__handle-right').first());
  const b = await center(nodeEl(page, to).locator('.react-flow__handle-left').first());
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 8 });
  await page.mouse.move(b.x, b.y, { steps: 8 });
  await page.mouse.up();
  await until(`an edge ${from} -> ${to}`,
    async () => (await page.locator('.react-flow__edge').count()) > edges);
}

/** Select a node (click its body, away from the handles) so the config panel shows it. */
async function select(page, id) {
  await testid(page, `node-${id}`).click();
  await until(`config panel of ${id}`,
    async () => (await testid(page, 'step-id').inputValue()) === id);
}

async function fill(page, selector, value) {
  const input = page.locator(selector);
  await input.fill(value);
  await input.press('Tab'); // forms may commit on blur
}

async function validity(page) {
  return (await testid(page, 'validity').innerText()).trim();
}

async function nodeErrorText(page, id) {
  const badge = testid(page, `node-error-${id}`);
  if (!(await badge.count())) return null;
  const title = (await badge.getAttribute('title')) || '';
  return `${await badge.innerText()} ${title}`;
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await testid(page, 'canvas').screenshot({ path: file });
  result.screenshots.push(file);
  console.log(`screenshot: ${file}`);
}

async function statuses(page, ids) {
  const out = {};
  for (const id of ids) out[id] = await testid(page, `node-${id}`).getAttribute('data-status');
  return out;
}

// ------------------------------------------------------------------------------- the steps

async function palette(page, catalog) {
  await testid(page, 'palette-csv').waitFor({ timeout: UI_TIMEOUT });
  const names = catalog.items.map((i) => i.name);
  for (const must of ['csv', 'filter', 'write']) assert.ok(names.includes(must), must);
  for (const item of catalog.items) {
    assert.equal(await testid(page, `palette-${item.name}`).count(), 1,
      `palette item for step type ${item.name}`);
  }
  // each item sits under a heading (its group's label) drawn in the group's colour
  const groups = Object.fromEntries(catalog.groups.map((g) => [g.kind, g]));
  const found = {};
  for (const item of catalog.items) {
    const g = groups[item.kind];
    const info = await testid(page, `palette-${item.name}`).evaluate((el, label) => {
      const colours = (e) => {
        const s = getComputedStyle(e);
        return [s.color, s.backgroundColor, s.borderLeftColor, s.borderTopColor,
          s.borderBottomColor, s.outlineColor, s.getPropertyValue('--group-color').trim()];
      };
      // the nearest ancestor holding a heading with the group's label
      for (let a = el.parentElement; a; a = a.parentElement) {
        const heads = [...a.querySelectorAll('h1,h2,h3,h4,h5,h6,[role="heading"],summary,legend')]
          .filter((h) => h.textContent.includes(label));
        if (heads.length) {
          const h = heads[0];
          return { heading: h.textContent.trim(),
            colours: [...colours(h), ...[...h.querySelectorAll('*')].flatMap(colours),
              ...colours(el), ...colours(a)] };
        }
      }
      return null;
    }, g.label);
    assert.ok(info, `palette item ${item.name} is not under a '${g.label}' heading`);
    assert.ok(info.colours.includes(hexToRgb(g.color)),
      `group ${g.label} (${item.name}): no ${g.color} among ${JSON.stringify(info.colours)}`);
    found[g.kind] = info.heading;
  }
  result.palette = { items: names.length, groups: found };
  log(`palette: ${names.length} step types in groups ${JSON.stringify(found)}`);
}

async function build(page, catalog) {
  const canvas = testid(page, 'canvas');
  const box = await canvas.boundingBox();
  assert.ok(box && box.width >= 760 && box.height >= 400,
    `canvas too small for the drop points: ${JSON.stringify(box)}`);
  await fill(page, '[data-testid="pipeline-name"]', NAME);
  result.drops = {};
  for (const [type, point] of DROPS) {
    const id = `${type}_1`;
    result.drops[id] = await toFlow(page, point);
    await testid(page, `palette-${type}`).dragTo(canvas, { targetPosition: point });
    await testid(page, `node-${id}`).waitFor({ timeout: UI_TIMEOUT });
    result.drops[id].node = await nodePosition(page, id);
  }
  log(`dropped: ${JSON.stringify(result.drops)}`);
  await connect(page, 'csv_1', 'filter_1');
  await connect(page, 'filter_1', 'write_1');
  log('connected csv_1 -> filter_1 -> write_1');
  await select(page, 'csv_1');
  await form(page, catalog);
  await fill(page, '#cfg-path', CSV_PATH);
  await select(page, 'write_1');
  await fill(page, '#cfg-path', OUT_PATH);
}

/** The csv form from its JSON schema: required marked, enum as a select, default shown,
 * description as help text. */
async function form(page, catalog) {
  const schema = catalog.items.find((i) => i.name === 'csv').config_schema;
  assert.ok(schema.required.includes('path'));
  const label = await page.locator('label[for="cfg-path"]').innerText();
  const required = await page.locator('#cfg-path').evaluate((e) => e.required);
  assert.ok(required || label.includes('*'), `path is not marked required: ${label}`);
  const select = page.locator('#cfg-on_bad_lines');
  assert.equal(await select.evaluate((e) => e.tagName), 'SELECT');
  const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.text));
  for (const v of ['error', 'skip']) assert.ok(options.includes(v), `on_bad_lines option ${v}`);
  assert.equal(await select.evaluate((e) => e.selectedOptions[0]?.text),
    schema.properties.on_bad_lines.default);
  assert.equal(await page.locator('#cfg-delimiter').inputValue(), schema.properties.delimiter.default);
  const help = schema.properties.path.description.slice(0, 40);
  assert.ok(await page.getByText(help).first().isVisible(), `no help text '${help}'`);
  result.form = { label, required, options };
}

async function validation(page) {
  // the filter's condition is empty: an error on the node, problems in the summary
  // once the paths are in, the empty condition is the one problem left
  await until('validity: 1 problem', async () => /^1 problem/.test(await validity(page)));
  const empty = await until('an error on filter_1 (empty condition)',
    () => nodeErrorText(page, 'filter_1'));
  assert.match(empty, /condition/);
  log(`empty condition: ${empty.trim()} | ${await validity(page)}: ${
    (await testid(page, 'errors').innerText()).replace(/\s+/g, ' ')}`);
  result.empty_condition_error = empty;
  await select(page, 'filter_1');
  await fill(page, '#cfg-condition', 'b > 1');
  const unknown = await until("the unknown column 'b' on filter_1", async () => {
    const text = await nodeErrorText(page, 'filter_1');
    return text && /unknown column/i.test(text) && text.includes("'b'") && text;
  });
  assert.match(await testid(page, 'errors').innerText(), /unknown column/i);
  log(`unknown column: ${unknown.trim()}`);
  result.unknown_column_error = unknown;
  await fill(page, '#cfg-condition', 'a > 1');
  await until('validity: valid', async () => (await validity(page)) === 'valid');
  for (const id of ['csv_1', 'filter_1', 'write_1']) {
    assert.equal(await testid(page, `node-error-${id}`).count(), 0, `error left on ${id}`);
  }
  log('valid');
}

async function saveAndCopy(page, context) {
  const yaml = (await testid(page, 'yaml').evaluate((el) => el.value ?? el.textContent)) || '';
  assert.match(yaml, new RegExp(`^name: ${NAME}$`, 'm'));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await testid(page, 'copy-yaml').click();
  const copied = await until('the clipboard to hold the YAML',
    () => page.evaluate(() => navigator.clipboard.readText()));
  assert.equal(copied, yaml, 'copied text differs from the YAML panel');
  result.yaml_panel = yaml;
  await testid(page, 'save').click();
  await until('save-status: saved', async () => {
    const s = testid(page, 'save-status');
    const text = (await s.count()) ? (await s.innerText()).trim() : '';
    if (text && text !== 'saved' && !/saving/i.test(text)) throw new Error(`save: ${text}`);
    return text === 'saved';
  });
  result.yaml_after_save = await testid(page, 'yaml').evaluate((el) => el.value ?? el.textContent);
  log('saved');
}

/** Click run; wait until run-status is one of `final` (or fail on another final one). */
async function run(page, final) {
  await testid(page, 'run').click();
  return until(`run-status ${final}`, async () => {
    const s = (await testid(page, 'run-status').innerText()).trim();
    const other = ['SUCCESS', 'FAILURE', 'CANCELED'].filter((f) => f !== final);
    if (other.some((o) => s.includes(o))) throw new Error(`run ended ${s}`);
    return s.includes(final) && s;
  }, RUN_TIMEOUT);
}

async function runIt(page, catalog) {
  const ids = ['csv_1', 'filter_1', 'write_1'];
  const seen = new Set();
  const watch = setInterval(async () => {
    try {
      for (const s of Object.values(await statuses(page, ids))) seen.add(s);
    } catch { /* page busy */ }
  }, 100);
  try {
    await run(page, 'SUCCESS');
    await until('every node success', async () =>
      Object.values(await statuses(page, ids)).every((s) => s === 'success'));
  } finally {
    clearInterval(watch);
  }
  log(`run SUCCESS; node states seen: ${[...seen].join(', ')}`);
  result.states_seen = [...seen];
  result.asset_links = {};
  for (const id of ids) {
    result.asset_links[id] = await testid(page, `asset-link-${id}`).getAttribute('href');
    assert.equal(result.asset_links[id], `${catalog.dagster_ui_url}/assets/${NAME}/${id}`);
  }
}

async function failure(page) {
  await page.goto(`${BASE}/builder?pipeline=${encodeURIComponent(FAIL_NAME)}`);
  await testid(page, 'node-filter_1').waitFor({ timeout: UI_TIMEOUT });
  await run(page, 'FAILURE');
  const ids = ['csv_1', 'filter_1', 'write_1'];
  await until('filter_1 failure', async () =>
    (await testid(page, 'node-filter_1').getAttribute('data-status')) === 'failure');
  const node = testid(page, 'node-filter_1');
  const st = await statuses(page, ids);
  result.failure = { statuses: st };
  log(`failure run: ${JSON.stringify(st)}`);
  await shot(page, 'builder-failure.png');
  assert.equal(st.write_1, 'skipped', 'downstream of the failure is not shown as skipped');
  assert.equal(st.csv_1, 'success');
  // the step's own message (ConditionTypeError), shown on the node
  const text = await node.evaluate((el) => [el.innerText,
    ...[el, ...el.querySelectorAll('*')].map((e) => e.getAttribute('title') || '')].join(' '));
  result.failure.text = text;
  assert.match(text, /cannot be compared/, `the step's error is not on the failing node: ${text}`);
  assert.ok(await node.getByText(/cannot be compared/).first().isVisible(),
    'the error is not visible on the failing node');
}

async function reload(page) {
  await page.goto(`${BASE}/builder?pipeline=${encodeURIComponent(NAME)}`);
  await testid(page, 'node-write_1').waitFor({ timeout: UI_TIMEOUT });
  result.reloaded = {};
  for (const id of ['csv_1', 'filter_1', 'write_1']) result.reloaded[id] = await nodePosition(page, id);
  assert.equal(await page.locator('.react-flow__edge').count(), 2);
  log(`reloaded positions: ${JSON.stringify(result.reloaded)}`);
}

async function main() {
  assert.ok(TOKEN, 'BUILDER_TOKEN is not set');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const catalog = await stepTypes();
  result.dagster_ui_url = catalog.dagster_ui_url;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'builder-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  let failed = null;
  try {
    await page.goto(`${BASE}/builder#token=${encodeURIComponent(TOKEN)}`);
    await palette(page, catalog);
    assert.ok(!page.url().includes('token='), 'the token stayed in the URL');
    await build(page, catalog);
    await validation(page);
    await shot(page, 'builder-canvas.png');
    await saveAndCopy(page, context);
    await runIt(page, catalog);
    // the failing run and the reload are independent: run both, report the first error
    let failedRun = null;
    if (FAIL_NAME) await failure(page).catch((e) => { failedRun = e; });
    await reload(page);
    if (failedRun) throw failedRun;
  } catch (e) {
    failed = e;
    try {
      await page.screenshot({ path: path.join(ARTIFACTS, 'builder-error.png') });
      console.log(`screenshot: ${path.join(ARTIFACTS, 'builder-error.png')}`);
    } catch { /* the browser is gone */ }
  } finally {
    result.page_problems = problems;
    fs.writeFileSync(RESULT, JSON.stringify(result, null, 2));
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (problems.length) console.log(`page problems:\n  ${problems.join('\n  ')}`);
  if (failed) throw failed;
  log('all steps passed');
}

main().catch((e) => {
  console.error(e?.stack || String(e));
  process.exit(1);
});
