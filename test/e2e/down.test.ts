// `harrow down` stops the data dir's running `harrow serve` cleanly (SIGTERM, as Ctrl-C) before it removes anything;
// on sim that is all there is. The qemu side (guests, namespaces, links) is down-qemu.test.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { runCli, startServer, waitFor, type HarrowServer } from './harness.ts';

let server: HarrowServer | undefined;
after(() => server?.stop());

it('stops a running harrow serve cleanly, and a second down finds nothing', async () => {
  server = await startServer();
  const pid = server.pid;
  const r = await runCli(['down', '--data-dir', server.dataDir], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`stopped harrow serve \\(pid ${pid}\\)\\n`));
  const s = server;
  await waitFor(() => /SIGTERM: shutting down/.test(s.logs()), { message: 'serve shut down' });
  assert.equal(existsSync(join(server.dataDir, 'server.json')), false, 'serve removed server.json');
  const again = await runCli(['down', '--data-dir', server.dataDir]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /stopped harrow serve/);
  assert.match(again.stdout, /nothing to remove/);
});
