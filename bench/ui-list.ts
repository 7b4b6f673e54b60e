// bench/ui-list: the web UI's VM list in Chromium against a real `harrow serve` on sim — the time from navigation to
// its first page in the DOM at 1,000 VMs (HARROW_BENCH_VMS), beside the same page at 10 VMs in another namespace of
// the same server, measured in turn in the same run. Prints; never asserts.
import { ensureWebBuilt, signIn } from '../test/e2e/ui-support.ts';
import { launchBrowser } from '../test/e2e/browser.ts';
import { bridgeNetwork, virtualMachine } from '../test/e2e/fixtures.ts';
import { startServer, type HarrowServer } from '../test/e2e/harness.ts';
import type { Page } from 'playwright-core';

const COUNT = Number(process.env.HARROW_BENCH_VMS ?? 1000);
const BASELINE = 10;
const ROUNDS = 7;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function fill(
  server: HarrowServer,
  ns: string,
  count: number,
  subnet: number,
): Promise<void> {
  await server.client.create(
    'Namespace',
    {},
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    },
  );
  const nad = bridgeNetwork('lan', subnet);
  nad.metadata.namespace = ns;
  await server.client.create('NetworkAttachmentDefinition', { namespace: ns }, nad);
  for (let k = 0; k < count; k += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - k) }, (_, j) => {
        const vm = virtualMachine(`vm-${String(k + j + 1).padStart(4, '0')}`, {
          runStrategy: 'Halted',
        });
        vm.metadata.namespace = ns;
        return server.client.create('VirtualMachine', { namespace: ns }, vm);
      }),
    );
  }
}

/** Milliseconds from the navigation's start until the first page's rows are in the DOM (polled each frame). */
async function firstPage(page: Page, url: string, rows: number): Promise<number> {
  await page.goto(url);
  const ms = await page.waitForFunction(
    (n) =>
      (
        globalThis as unknown as {
          document: { querySelectorAll(s: string): { length: number } };
        }
      ).document.querySelectorAll('tbody tr[data-vm]').length === n && performance.now(),
    rows,
    { timeout: 120_000, polling: 'raf' },
  );
  return (await ms.jsonValue()) as number;
}

ensureWebBuilt();
const server = await startServer();
const b = await launchBrowser('bench-ui-list');
try {
  await fill(server, 'bench-big', COUNT, 90);
  await fill(server, 'bench-small', BASELINE, 91);
  await signIn(b.page, server);
  const big: number[] = [];
  const small: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    big.push(await firstPage(b.page, `${server.url}/ui/namespaces/bench-big/vms`, 50));
    small.push(await firstPage(b.page, `${server.url}/ui/namespaces/bench-small/vms`, BASELINE));
  }
  const mBig = median(big);
  const mSmall = median(small);
  console.log(`VM list first page, navigation → rows in the DOM, median of ${ROUNDS}:`);
  console.log(
    `  ${COUNT} VMs (50 shown): ${mBig.toFixed(0)} ms   [${big.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  console.log(
    `  ${BASELINE} VMs (baseline):  ${mSmall.toFixed(0)} ms   [${small.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  console.log(`  ratio: ${(mBig / mSmall).toFixed(2)}×`);
} finally {
  await b.close();
  await server.stop();
}
