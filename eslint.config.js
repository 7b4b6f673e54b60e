// One lint config states Harrow's import direction (STYLE.md). Do not relax the layering rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    ['src/pool/**'],
    [
      {
        group: ['../!(mac)/**', '../!(mac)', 'node:fs*', 'node:net', 'node:child_process'],
        message: 'src/pool is pure: only src/mac, no I/O.',
      },
    ],
  ),
  layer(
    ['src/resources/**'],
    [
      {
        group: [
          '../store/**',
          '../apiserver/**',
          '../controllers/**',
          '../runtime/**',
          '../cli/**',
          'node:fs*',
          'node:child_process',
        ],
        message: 'resources know types and validation only.',
      },
    ],
  ),
  layer(
    ['src/apiserver/**', 'src/controllers/**'],
    [
      {
        group: [
          '../runtime/sim/**',
          '../runtime/qemu/**',
          '../../runtime/sim/**',
          '../../runtime/qemu/**',
        ],
        message:
          'apiserver and controllers depend on the Runtime interface, never on an implementation.',
      },
    ],
  ),
  layer(
    ['src/runtime/**'],
    [
      {
        group: [
          '../apiserver/**',
          '../../apiserver/**',
          '../controllers/**',
          '../../controllers/**',
        ],
        message: 'a runtime never imports the apiserver or controllers.',
      },
    ],
  ),
);
