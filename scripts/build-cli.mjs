// Builds the `harrow` command (CLI and server) to JavaScript in dist/cli, which bin/harrow runs while it is newer than
// every source: starting TypeScript through tsx costs a short command most of its time.
import { build } from 'esbuild';
import { rename, rm, utimes } from 'node:fs/promises';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cli');
const next = `${out}.next.${process.pid}`;
const old = `${out}.old.${process.pid}`;
// The sources as they are now: a file saved during the build stays newer than the result, so bin/harrow skips it.
const startedAt = new Date();

await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outdir: next,
  bundle: true,
  // Lazy imports (the server, the qemu runtime, image builders) become chunks loaded only by the commands that use them.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The client's packages are bundled: one file parses faster than a hundred. What only the server loads stays in
  // node_modules (native addons, files read at run time, worker threads).
  external: [
    'better-sqlite3',
    'etcd3',
    'pino',
    'pino-pretty',
    'prom-client',
    'fastify',
    '@fastify/*',
    'bufferutil',
    'utf-8-validate',
  ],
  // Bundled CommonJS packages call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __harrowCreateRequire } from 'node:module'; const require = __harrowCreateRequire(import.meta.url);",
  },
  // Less to parse at every start; identifiers keep their names, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
await utimes(join(next, 'main.js'), startedAt, startedAt);
// Swapped in whole, so a `harrow` starting meanwhile runs the old build or the new one, never half of each.
await rename(out, old).catch((e) => {
  if (e.code !== 'ENOENT') throw e;
});
await rename(next, out);
await rm(old, { recursive: true, force: true });
process.stdout.write(`built ${out}\n`);
