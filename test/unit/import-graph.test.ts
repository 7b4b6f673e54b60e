// The import graph stays a layered DAG: eslint.config.js states it (LAYERS) and its layering rule refuses a wrong
// arrow; no cycle among the modules of src/ and web/src/ (type-only imports count). The probes lint text under
// paths the config covers through ESLint's Node API, so the rule cannot silently stop working.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface LayerConfig {
  LAYERS: Record<string, string[]>;
  unitOf(path: string): string | undefined;
  mayImport(from: string, to: string): boolean;
}
const config = (await import(pathToFileURL(join(root, 'eslint.config.js')).href)) as LayerConfig;
const units = Object.keys(config.LAYERS);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (/\.tsx?$/.test(name)) out.push(path);
  }
  return out;
}

/** Every strongly connected component of more than one node (Tarjan), in the graph given as adjacency lists. */
function stronglyConnected(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) components.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components;
}

/** The import cycles among these files (relative imports, type-only ones included), as paths relative to the repo. */
function importCycles(files: string[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      relative(root, file),
      info.importedFiles
        .map((i) => i.fileName)
        .filter((s) => s.startsWith('.'))
        .map((s) => relative(root, resolve(dirname(file), s))),
    );
  }
  return stronglyConnected(graph);
}

test('no import cycle among the modules of src/ and web/src/', () => {
  assert.deepEqual(importCycles(sourceFiles(join(root, 'src'))), []);
  assert.deepEqual(importCycles(sourceFiles(join(root, 'web/src'))), []);
});

test('the cycle check finds a cycle when there is one', () => {
  const dir = join(root, 'test/unit/fixtures/import-cycle');
  assert.deepEqual(importCycles(sourceFiles(dir)), [
    ['test/unit/fixtures/import-cycle/a.ts', 'test/unit/fixtures/import-cycle/b.ts'],
  ]);
});

test('the layer graph in eslint.config.js is a DAG over declared units, and every source folder is in it', () => {
  for (const [unit, allowed] of Object.entries(config.LAYERS))
    for (const to of allowed)
      assert.ok(to === 'src/*' || units.includes(to), `${unit} allows ${to}, which is no unit`);
  const expanded = new Map(
    units.map((u) => [u, units.filter((v) => v !== u && config.mayImport(u, v))]),
  );
  assert.deepEqual(stronglyConnected(expanded), []);
  for (const dir of ['src', 'web/src', 'test', 'bench'])
    for (const file of sourceFiles(join(root, dir))) {
      const path = relative(root, file);
      assert.ok(config.unitOf(path), `${path} belongs to no unit of LAYERS`);
    }
});

const eslint = new ESLint({ cwd: root });

/** The layering rule's messages for this text linted as if it were the file at `filePath`. */
async function layeringErrors(filePath: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(root, filePath) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'harrow/layering' || m.fatal)
    .map((m) => m.message);
}

/** A probe file's path inside a unit, and a path to import from a unit (a file unit is its own file). */
const probePath = (unit: string): string =>
  /\.tsx?$/.test(unit) ? unit : `${unit}/layer-probe.${unit.startsWith('web/') ? 'tsx' : 'ts'}`;
const importPath = (from: string, to: string): string => {
  const target = /\.tsx?$/.test(to) ? to : `${to}/index.ts`;
  const path = relative(dirname(probePath(from)), target);
  return path.startsWith('.') ? path : `./${path}`;
};

// The house rules (STYLE.md, DESIGN §7) written out by hand, not read from LAYERS: relaxing the graph fails here.
const MUST_NOT = [
  ['src/store', 'src/controllers'],
  ['src/store', 'src/apiserver'],
  ['src/runtime/sim', 'src/apiserver'],
  ['src/runtime/qemu', 'src/apiserver'],
  ['src/runtime', 'src/store'],
  ['src/runtime', 'src/runtime/qemu'],
  ['src/controllers', 'src/runtime/qemu'],
  ['src/controllers', 'src/runtime/sim'],
  ['src/controllers', 'src/apiserver'],
  ['src/apiserver', 'src/runtime/sim'],
  ['src/apiserver', 'src/controllers'],
  ['src/controllers/runner', 'src/controllers'],
  ['src/mac', 'src/resources'],
  ['src/pool', 'src/store'],
  ['src/resources', 'src/store'],
  ['src/network', 'src/store'],
  ['src/agent', 'src/server'],
  ['src/server', 'src/cli'],
  ['src/client', 'src/store'],
  ['web/src/pages', 'src/server'],
  ['web/src/model', 'src/store'],
  ['web/src/api', 'src/apiserver'],
  ['src/resources', 'web/src/model'],
  ['src/store', 'test/support'],
  ['test/support', 'test/unit'],
];

test('lint refuses the arrows the house rules forbid (store → controllers, runtime → apiserver, web → server, …)', async () => {
  for (const [from, to] of MUST_NOT) {
    const errors = await layeringErrors(
      probePath(from!),
      `import { probe } from '${importPath(from!, to!)}';\nexport const used = probe;\n`,
    );
    assert.equal(errors.length, 1, `${from} → ${to}: ${errors.join('; ')}`);
    assert.match(errors[0]!, new RegExp(`${from} must not import ${to}`));
  }
});

test('lint refuses every arrow the graph lacks and passes every arrow it has, however the import is written', async () => {
  for (const from of units) {
    const forbidden = units.filter((to) => to !== from && !config.mayImport(from, to));
    const allowed = units.filter((to) => to !== from && config.mayImport(from, to));
    const refused = await layeringErrors(
      probePath(from),
      forbidden
        .map((to, i) => {
          const path = importPath(from, to);
          // Each way an import can be written: a value or type import, a re-export, a dynamic import, an import type.
          switch (i % 5) {
            case 0:
              return `import { p${i} } from '${path}';\nexport const v${i} = p${i};`;
            case 1:
              return `import type { P${i} } from '${path}';\nexport type T${i} = P${i};`;
            case 2:
              return `export * from '${path}';`;
            case 3:
              return `export const v${i} = () => import('${path}');`;
            default:
              return `export type T${i} = import('${path}').P;`;
          }
        })
        .join('\n') + '\n',
    );
    assert.equal(refused.length, forbidden.length, `${from}: ${refused.join('\n')}`);
    const passed = await layeringErrors(
      probePath(from),
      allowed.map((to, i) => `export { p${i} } from '${importPath(from, to)}';`).join('\n') + '\n',
    );
    assert.deepEqual(passed, [], `${from}`);
  }
});

test('lint refuses a file outside the graph, and I/O or Node in the pure modules and the web UI', async () => {
  assert.match(
    (await layeringErrors('src/newfolder/probe.ts', 'export const x = 1;\n')).join(),
    /belongs to no unit of the layer graph/,
  );
  for (const [file, module] of [
    ['src/mac/probe.ts', 'node:crypto'],
    ['src/pool/probe.ts', 'node:fs'],
    ['src/resources/probe.ts', 'fs/promises'],
    ['src/network/probe.ts', 'node:child_process'],
    ['web/src/model/probe.ts', 'node:path'],
  ]) {
    const errors = await layeringErrors(file!, `import * as m from '${module}';\nexport { m };\n`);
    assert.equal(errors.length, 1, `${file} → ${module}: ${errors.join('; ')}`);
  }
  assert.deepEqual(
    await layeringErrors(
      'src/resources/probe.ts',
      "import { randomInt } from 'node:crypto';\nexport { randomInt };\n",
    ),
    [],
    'pure modules may use node:crypto (no I/O)',
  );
});

test('the layering rule is on, as an error, for a real file of every unit (no override or ignore turns it off)', async () => {
  const all = [
    ...sourceFiles(join(root, 'src')),
    ...sourceFiles(join(root, 'web/src')),
    ...sourceFiles(join(root, 'test')),
    ...sourceFiles(join(root, 'bench')),
  ].map((f) => relative(root, f));
  for (const unit of units) {
    const file = all.find((f) => config.unitOf(f) === unit);
    if (!file) continue; // scripts/ holds shell and .mjs only
    assert.equal(await eslint.isPathIgnored(join(root, file)), false, `${file} is ignored`);
    const rules = (
      (await eslint.calculateConfigForFile(join(root, file))) as { rules: Record<string, unknown> }
    ).rules;
    const setting = rules['harrow/layering'];
    assert.ok(
      setting === 2 ||
        setting === 'error' ||
        (Array.isArray(setting) && (setting[0] === 2 || setting[0] === 'error')),
      `${file}: harrow/layering is ${JSON.stringify(setting)}`,
    );
  }
});
