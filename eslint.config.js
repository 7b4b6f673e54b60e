// One lint config states Harrow's import direction (STYLE.md). Do not relax the layering rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Folders above the pure ones, and runtime implementations only the composition roots (server, agent) may import.
const TOP = ['controllers', 'apiserver', 'agent', 'server', 'cli'];
const ABOVE_NETWORK = ['store', 'client', 'runtime', 'allocation', 'fsck', ...TOP];
const RUNTIME_IMPLEMENTATIONS = ['runtime/sim', 'runtime/qemu'];
const PURE = new Set(['resources', 'maintenance', 'network']);
const CONTROLLERS_MUST_NOT_IMPORT = [
  'client',
  'fsck',
  'apiserver',
  'agent',
  'server',
  'cli',
  ...RUNTIME_IMPLEMENTATIONS,
];

const layer = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

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
  // Layering: a wrong arrow is a lint error, not a review comment.
  layer(
    ['src/mac/**'],
    [
      {
        group: ['../*', 'node:*'],
        message: 'src/mac is pure: it imports nothing else from src/ and does no I/O.',
      },
    ],
  ),
  layer(
    ['src/ip/**'],
    [
      {
        group: ['../*', 'node:*'],
        message: 'src/ip is pure: it imports nothing else from src/ and does no I/O.',
      },
    ],
  ),
  layer(
    ['src/pool/**'],
    [
      {
        group: ['../!(mac)/**', '../!(mac)', 'node:fs*', 'node:net', 'node:child_process'],
        message: 'src/pool is pure: only src/mac, no I/O.',
      },
    ],
  ),
  // The rest of the graph, one entry per folder: what it must never import (DESIGN §7's order, bottom to top:
  // mac, ip → pool, resources → maintenance, network, audit → store, client, runtime → allocation → fsck → controllers,
  // apiserver → agent → server → cli). Each folder's one entry holds all its rules (a later entry would replace it).
  ...Object.entries({
    resources: [...ABOVE_NETWORK, 'network', 'maintenance', 'audit', 'pool'],
    maintenance: [...ABOVE_NETWORK, 'network', 'audit', 'pool'],
    network: [...ABOVE_NETWORK, 'maintenance', 'audit', 'pool'],
    audit: [...ABOVE_NETWORK, 'network', 'maintenance', 'pool'],
    store: ['runtime', 'client', 'allocation', 'fsck', ...TOP, 'network', 'maintenance', 'pool'],
    client: ['runtime', 'store', 'allocation', 'fsck', ...TOP, 'audit', 'maintenance', 'pool'],
    runtime: ['store', 'client', 'allocation', 'fsck', ...TOP, 'audit', 'maintenance', 'pool'],
    allocation: ['runtime', 'client', 'fsck', ...TOP],
    fsck: ['runtime', 'client', ...TOP],
    controllers: CONTROLLERS_MUST_NOT_IMPORT,
    // The runner (informers, queues, manager) is the controllers' framework: it knows no controller.
    'controllers/runner': CONTROLLERS_MUST_NOT_IMPORT,
    apiserver: [
      'client',
      'fsck',
      'controllers',
      'agent',
      'server',
      'cli',
      ...RUNTIME_IMPLEMENTATIONS,
    ],
    agent: ['server', 'cli'],
    server: ['cli'],
  }).map(([folder, forbidden]) =>
    layer(
      [`src/${folder}/**`],
      [
        {
          group: [
            ...forbidden.flatMap((f) => [`../${f}/**`, `../../${f}/**`, `../../../${f}/**`]),
            // The one shared logger factory of the two processes (serve, agent) lives in server/ for now.
            ...(folder === 'agent' ? ['!../server/logger.ts'] : []),
            ...(folder === 'controllers/runner' ? ['../*.ts', '!../metrics.ts'] : []),
          ],
          message: `src/${folder} must not import that folder: imports point down DESIGN §7's order (eslint.config.js).`,
        },
        ...(PURE.has(folder)
          ? [
              {
                group: ['node:fs*', 'node:child_process', 'node:net'],
                message: `src/${folder} does no I/O.`,
              },
            ]
          : []),
      ],
    ),
  ),
  // The web UI uses only the pure modules of src/ (it runs in a browser).
  layer(
    ['web/src/**'],
    [
      {
        group: [
          '**/src/*/**',
          '!**/src/mac/**',
          '!**/src/ip/**',
          '!**/src/resources/**',
          '!**/src/network/**',
        ],
        message:
          'the web UI imports only src/mac, src/ip, src/resources and src/network (pure, browser-safe).',
      },
      { group: ['node:*'], message: 'the web UI runs in a browser.' },
    ],
  ),
);
