// `harrow serve` as its composition root builds it (sim runtime, plain HTTP on loopback, a temporary data dir), and a
// scrape of its /metrics with the admin token, for the tests that need every family Harrow really exports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarrow, type RunningHarrow } from '../../src/server/harrow.ts';
import { waitFor } from './controllers-harness.ts';

export interface ScrapedHarrow {
  server: RunningHarrow;
  /** GET /metrics with the admin token (or the given one): status and body. */
  scrape(token?: string): Promise<{ status: number; contentType: string; body: string }>;
  close(): Promise<void>;
}

// The families the controllers register once they run; a scrape before that would miss them.
const CONTROLLER_FAMILY = '# TYPE kubevirt_vmi_network_receive_bytes_total counter';

export async function startScrapedHarrow(): Promise<ScrapedHarrow> {
  const dir = mkdtempSync(join(tmpdir(), 'harrow-metrics-'));
  let server: RunningHarrow;
  try {
    server = await startHarrow({
      dataDir: join(dir, 'data'),
      listen: '127.0.0.1:0',
      runtime: 'sim',
      tls: 'off',
      logLevel: 'warn',
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const scrape = async (token = server.token) => {
    const r = await fetch(`${server.url}/metrics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return {
      status: r.status,
      contentType: r.headers.get('content-type') ?? '',
      body: await r.text(),
    };
  };
  const close = async (): Promise<void> => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the controllers’ families registered',
      async () => (await scrape()).body.includes(CONTROLLER_FAMILY),
      60_000,
    );
  } catch (e) {
    await close();
    throw e;
  }
  return { server, scrape, close };
}
