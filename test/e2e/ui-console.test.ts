// The VM page's Console tab in Chromium: xterm.js over KubeVirt's console WebSocket shows the guest's serial port,
// root logs in and `ip link show` prints the platform MAC (issue 15: "the web UI console shows the same"), on every
// runtime this machine runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, unexpectedProblems, type BrowserSession } from './browser.ts';
import { NS, runningVmOnLan } from './fixtures.ts';
import { startServer, type HarrowServer } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';
import { ensureWebBuilt, expectOnConsole, signIn } from './ui-support.ts';

const MAC = '02:c0:50:1e:00:21';

for (const rt of runtimesUnderTest()) {
  describe(`web UI console tab on ${rt.name}`, { skip: rt.skip ?? false, timeout: 600_000 }, () => {
    let server: HarrowServer;
    let b: BrowserSession;
    const vm = 'con-ui';

    before(async () => {
      ensureWebBuilt();
      server = await startServer({ runtime: rt.name });
      b = await launchBrowser(`console-${rt.name}`);
      await runningVmOnLan(server.client, vm, { mac: MAC, third: 62, timeoutMs: rt.timeoutMs });
    });
    after(async () => {
      await b?.close();
      await server?.stop();
    });

    it('the console tab shows the login prompt; root logs in and ip link show prints the platform MAC', async () => {
      const { page } = b;
      await signIn(page, server);
      await page.goto(`${server.url}/ui/namespaces/${NS}/vms/${vm}/console`);
      await page.getByText('Connected to the serial console').waitFor({ timeout: 30_000 });
      // The tab sends Enter on connecting; getty (or the sim's serial model) asks for a login again.
      await expectOnConsole(page, /login:\s*$/m, rt.timeoutMs);
      await b.screenshot('login prompt');
      await page.getByTestId('console-screen').click();
      await page.keyboard.type('root');
      await page.keyboard.press('Enter');
      await expectOnConsole(page, /#\s*$/m, 30_000);
      await page.keyboard.type('ip link show eth0');
      await page.keyboard.press('Enter');
      const shown = await expectOnConsole(page, /link\/ether ([0-9a-f:]{17})/, 30_000);
      assert.equal(shown, `link/ether ${MAC}`, 'the guest shows the platform MAC on its console');
      await b.screenshot('ip link show');
      assert.deepEqual(unexpectedProblems(b.takeConsoleProblems()), []);
    });

    it('a stopped VM says so instead of a dead terminal', async () => {
      const { page } = b;
      const path = `/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachines/${vm}/stop`;
      const res = await fetch(server.url + path, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 202, await res.text());
      await page
        .getByText('The VM is not running: start it to use its serial console.')
        .waitFor({ timeout: rt.timeoutMs });
      const consoleEnd = await page.getByTestId('console-state').textContent();
      assert.match(consoleEnd ?? '', /not running/);
    });
  });
}
