// The import graph stays a layered DAG: no cycle among src/ modules (type-only imports count), and the lint config's
// layering rules do fire on a wrong arrow.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (/\.tsx?$/.test(name)) out.push(path);
  }
  return out;
}

/** Every strongly connected component of more than one module (Tarjan), as paths relative to the repo. */
function importCycles(files: string[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      info.importedFiles
        .map((i) => i.fileName)
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(dirname(file), s)),
    );
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
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
      component.push(relative(root, w));
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

test('no import cycle among the modules of src/', () => {
  assert.deepEqual(importCycles(sourceFiles(join(root, 'src'))), []);
});

test('the cycle check finds a cycle when there is one', () => {
  const dir = join(root, 'test/unit/fixtures/import-cycle');
  assert.deepEqual(importCycles(sourceFiles(dir)), [
    ['test/unit/fixtures/import-cycle/a.ts', 'test/unit/fixtures/import-cycle/b.ts'],
  ]);
});

async function lintErrors(filePath: string, text: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(text, { filePath: join(root, filePath) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

test('lint refuses an import from the store to the controllers, and from a runtime to the apiserver', async () => {
  const store = await lintErrors(
    'src/store/probe.ts',
    "import { vmController } from '../controllers/vm.ts';\nexport const probe = vmController;\n",
  );
  assert.ok(
    store.some((m) => m.startsWith('no-restricted-imports')),
    `store → controllers: ${store.join('; ')}`,
  );
  const runtime = await lintErrors(
    'src/runtime/sim/probe.ts',
    "import { createServer } from '../../apiserver/server.ts';\nexport const probe = createServer;\n",
  );
  assert.ok(
    runtime.some((m) => m.startsWith('no-restricted-imports')),
    `runtime → apiserver: ${runtime.join('; ')}`,
  );
  const runner = await lintErrors(
    'src/controllers/runner/probe.ts',
    "import { vmController } from '../vm.ts';\nexport const probe = vmController;\n",
  );
  assert.ok(
    runner.some((m) => m.startsWith('no-restricted-imports')),
    `controller runner → a controller: ${runner.join('; ')}`,
  );
  const fine = await lintErrors(
    'src/store/probe.ts',
    "import { refOf } from '../resources/meta.ts';\nexport const probe = refOf;\n",
  );
  assert.deepEqual(fine, [], 'a downward import passes');
});
