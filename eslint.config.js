// One lint config states Harrow's import direction (STYLE.md, DESIGN §7). DO NOT RELAX the layering rule: if the
// tree needs an arrow the graph below does not have, the design needs a change, not the graph.
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROOT = import.meta.dirname;

// Pure modules (no I/O), usable from everywhere above them; the browser-safe ones are the web UI's share of src/.
const BROWSER_SAFE = ['src/mac', 'src/ip', 'src/resources', 'src/network'];
const PURE = [...BROWSER_SAFE, 'src/pool', 'src/maintenance'];
// What the controllers and the apiserver stand on: the store and the Runtime contract, never an implementation.
const BELOW_CONTROLLERS = [
  ...PURE,
  'src/audit',
  'src/images',
  'src/store',
  'src/runtime',
  'src/allocation',
  'src/metrics',
];
// The processes' composition roots: they pick the store and runtime implementations and wire everything.
const AGENT = [
  ...BELOW_CONTROLLERS,
  'src/log',
  'src/client',
  'src/controllers',
  'src/apiserver',
  'src/runtime/choice.ts',
  'src/runtime/qemu',
];
const SERVER = [...AGENT, 'src/agent', 'src/store/sqlite', 'src/store/etcd', 'src/fsck'];
const WEB_BELOW_SHELL = [
  'web/src/api',
  'web/src/model',
  'web/src/components',
  'web/src/pages',
  'web/src/router.tsx',
  'web/src/session.ts',
];

/**
 * The whole dependency graph: each unit (a folder, or one file where a file has its own place) and the units it may
 * import. A file belongs to the longest unit that contains it; imports inside one unit are free; anything else is a
 * lint error. Every file under src/, web/src/, test/, bench/ and scripts/ must belong to a unit. Bottom to top:
 * mac, ip → pool, resources → maintenance, network, audit, images, log → store, client, runtime (contracts) → their
 * implementations → allocation, metrics → fsck, controllers' runner → controllers, apiserver → agent → server → cli.
 */
export const LAYERS = {
  'src/mac': [],
  'src/ip': [],
  'src/pool': ['src/mac'],
  'src/resources': ['src/mac', 'src/ip'],
  'src/maintenance': ['src/mac', 'src/ip', 'src/resources'],
  'src/network': ['src/mac', 'src/ip', 'src/resources'],
  'src/audit': ['src/mac', 'src/ip', 'src/resources'],
  'src/images': [],
  'src/log': [],
  'src/store': ['src/mac', 'src/ip', 'src/resources', 'src/audit'],
  'src/store/sqlite': ['src/mac', 'src/ip', 'src/resources', 'src/audit', 'src/store'],
  'src/store/etcd': ['src/mac', 'src/ip', 'src/resources', 'src/audit', 'src/store'],
  'src/client': ['src/mac', 'src/ip', 'src/resources', 'src/network'],
  'src/runtime': ['src/mac', 'src/ip', 'src/resources', 'src/network', 'src/images'],
  'src/runtime/sim': ['src/mac', 'src/ip', 'src/resources', 'src/network', 'src/runtime'],
  'src/runtime/qemu': [
    'src/mac',
    'src/ip',
    'src/resources',
    'src/network',
    'src/images',
    'src/runtime',
  ],
  // Picks an implementation: only the composition roots import it.
  'src/runtime/choice.ts': ['src/runtime', 'src/runtime/sim', 'src/runtime/qemu'],
  'src/allocation': [...PURE, 'src/audit', 'src/store'],
  'src/metrics': [...PURE, 'src/store'],
  'src/fsck': [...PURE, 'src/audit', 'src/store', 'src/allocation'],
  // The controllers' framework (informers, queues, manager): it knows no controller.
  'src/controllers/runner': [...PURE, 'src/store', 'src/metrics'],
  'src/controllers': [...BELOW_CONTROLLERS, 'src/controllers/runner'],
  'src/apiserver': BELOW_CONTROLLERS,
  'src/agent': AGENT,
  'src/server': SERVER,
  'src/cli': [...SERVER, 'src/server', 'src/runtime/sim', 'src/controllers/runner'],
  // The web UI runs in a browser: of src/ only the pure, browser-safe modules.
  'web/src/api': BROWSER_SAFE,
  'web/src/router.tsx': [],
  'web/src/session.ts': ['web/src/api'],
  'web/src/model': [...BROWSER_SAFE, 'web/src/api'],
  'web/src/components': [
    ...BROWSER_SAFE,
    'web/src/api',
    'web/src/model',
    'web/src/router.tsx',
    'web/src/session.ts',
  ],
  'web/src/pages': [...BROWSER_SAFE, ...WEB_BELOW_SHELL.filter((u) => u !== 'web/src/pages')],
  'web/src': [...BROWSER_SAFE, ...WEB_BELOW_SHELL],
  // Tests obey the same layers: they sit above everything they test, and nothing imports them.
  'test/fixtures': [],
  'test/support': ['src/*'],
  'test/unit': ['src/*', 'web/src/api', 'web/src/model', 'test/support'],
  'test/e2e': ['src/*', 'test/support', 'test/unit'],
  bench: ['src/*', 'test/support', 'test/e2e'],
  scripts: [],
};

/** Node built-ins a unit must not import: pure modules do no I/O, the web UI has no Node at all. */
const IO_MODULES = ['fs', 'fs/promises', 'net', 'child_process', 'dgram', 'http', 'https', 'tls'];
const NO_NODE = {
  'src/mac': builtinModules,
  'src/ip': builtinModules,
  'src/pool': IO_MODULES,
  'src/resources': IO_MODULES,
  'src/maintenance': IO_MODULES,
  'src/network': IO_MODULES,
  ...Object.fromEntries(
    Object.keys(LAYERS)
      .filter((u) => u.startsWith('web/'))
      .map((u) => [u, builtinModules]),
  ),
};

const GOVERNED = ['src', 'web/src', 'test', 'bench', 'scripts'];
const within = (path, unit) => path === unit || path.startsWith(unit + '/');
const posix = (path) => path.split(sep).join('/');

/** The unit a repo-relative path belongs to (the longest declared one containing it), or undefined. */
export function unitOf(path) {
  const p = path.replace(/\.js$/, '.ts');
  let best;
  for (const unit of Object.keys(LAYERS))
    if (within(p, unit) && (!best || unit.length > best.length)) best = unit;
  return best;
}

/** Whether unit `from` may import unit `to` ('src/*' in a unit's list stands for every unit under src/). */
export function mayImport(from, to) {
  if (from === to) return true;
  return LAYERS[from].some(
    (allowed) => allowed === to || (allowed === 'src/*' && to.startsWith('src/')),
  );
}

const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: "Imports follow eslint.config.js's LAYERS graph (DESIGN §7)." },
    schema: [],
  },
  create(context) {
    const file = posix(relative(ROOT, context.filename));
    if (!GOVERNED.some((g) => within(file, g))) return {};
    const from = unitOf(file);
    if (!from)
      return {
        Program(node) {
          context.report({
            node,
            message: `${file} belongs to no unit of the layer graph: add its folder to LAYERS in eslint.config.js.`,
          });
        },
      };
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (!source.startsWith('.')) {
        const name = source.replace(/^node:/, '');
        if (!(source.startsWith('node:') || builtinModules.includes(name))) return;
        if ((NO_NODE[from] ?? []).includes(name))
          context.report({
            node,
            message: `${from} must not import ${source}: ${from.startsWith('web/') ? 'the web UI runs in a browser' : 'it is pure and does no I/O'} (eslint.config.js).`,
          });
        return;
      }
      const target = posix(relative(ROOT, resolve(dirname(context.filename), source)));
      const to = unitOf(target);
      if (!to) {
        if (GOVERNED.some((g) => within(target, g)) || target.startsWith('..'))
          context.report({
            node,
            message: `${source} is outside the layer graph (eslint.config.js LAYERS).`,
          });
        return;
      }
      if (!mayImport(from, to))
        context.report({
          node,
          message: `${from} must not import ${to}: imports point down the graph in eslint.config.js (LAYERS, DESIGN §7).`,
        });
    };
    const literal = (node) => (node?.type === 'Literal' ? node.value : undefined);
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => check(node, literal(node.source)),
      TSImportType: (node) => check(node, literal(node.argument?.literal ?? node.argument)),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'No default exports (STYLE.md).' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // Tool config files must export their config as the default export.
  {
    files: ['*.config.js', '*.config.ts', 'web/*.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  // Layering: a wrong arrow is a lint error, not a review comment. Do not relax.
  {
    files: ['**/*.{ts,tsx,mts,cts,js,mjs,cjs,jsx}'],
    plugins: { harrow: { rules: { layering: layeringRule } } },
    rules: { 'harrow/layering': 'error' },
  },
);
