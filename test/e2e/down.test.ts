// `harrow down` stops the data dir's running `harrow serve` or `harrow agent` cleanly (SIGTERM, as Ctrl-C) before it
// removes anything; on sim that is all there is. The qemu side (guests, namespaces, links) is down-qemu.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { nodeToken, startAgentProcess, type AgentProcess } from './agent-support.ts';
import { runCli, startServer, waitFor, type HarrowServer } from './harness.ts';

let server: HarrowServer | undefined;
let agent: AgentProcess | undefined;
after(async () => {
  await agent?.stop();
  await server?.stop();
});

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

it('stops a running harrow agent of the data dir (it names itself in agent.json)', async () => {
  // The first test's down stopped it: start it again on its data dir.
  if (server) await server.restart();
  else server = await startServer();
  agent = await startAgentProcess({
    server: server.url,
    token: await nodeToken(server, 'down-node'),
    nodeName: 'down-node',
  });
  const argv = readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8').split('\0');
  const dataDir = argv[argv.indexOf('--data-dir') + 1]!;
  await waitFor(() => existsSync(join(dataDir, 'agent.json')), { message: 'agent.json' });
  const r = await runCli(['down', '--data-dir', dataDir], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`stopped harrow agent \\(pid ${agent.pid}\\)\\n`));
  const a = agent;
  await waitFor(() => /SIGTERM: shutting down/.test(a.logs()), { message: 'agent shut down' });
  assert.equal(existsSync(join(dataDir, 'agent.json')), false, 'the agent removed agent.json');
});
