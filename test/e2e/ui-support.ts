// Shared steps of the browser tests: a built UI, a signed-in page, and small API reads to check what the page says.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { AuditRecord } from '../../src/resources/types.ts';
import { REPO_ROOT, waitFor, type HarrowServer } from './harness.ts';

const WEB = join(REPO_ROOT, 'web');
const DIST_INDEX = join(WEB, 'dist', 'index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The server serves web/dist only when it exists when it starts, so build it first when it is missing or older
 * than the sources (the UI and the MAC module it bundles).
 */
export function ensureWebBuilt(): void {
  const sources = Math.max(
    newestMtime(join(WEB, 'src')),
    statSync(join(WEB, 'index.html')).mtimeMs,
    newestMtime(join(REPO_ROOT, 'src', 'mac')),
  );
  if (existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs >= sources) return;
  execFileSync('npm', ['run', '--silent', 'build:web'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
}

/** A GET against the public API with the admin token (the tests check the page against it). */
export async function apiGet<T = KubeObject>(server: HarrowServer, path: string): Promise<T> {
  const res = await fetch(server.url + path, {
    headers: { Authorization: `Bearer ${server.token}` },
  });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function apiSend<T = unknown>(
  server: HarrowServer,
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/json',
): Promise<T> {
  const res = await fetch(server.url + path, {
    method,
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': contentType },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Opens the server's root, which sends the browser to the UI, and signs in with the token. */
export async function signIn(page: Page, server: HarrowServer): Promise<void> {
  await page.goto(server.url + '/');
  await page.getByLabel('API token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Virtual Machines', level: 1 }).waitFor();
}

const restartRecords = async (
  server: HarrowServer,
  namespace: string,
  vm: string,
): Promise<AuditRecord[]> =>
  (await server.client.list<AuditRecord>('AuditRecord', { namespace })).items.filter(
    (r) => r.spec.verb === 'restart' && r.spec.resource.name === vm,
  );

type ClickClock = { harrowClicks?: number[] };

/** From now on the page notes the wall-clock time of every click it receives (the moment the operator clicks). */
async function noteClicks(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as ClickClock & {
      document: { addEventListener(t: string, f: () => void, capture: boolean): void };
    };
    if (g.harrowClicks) return;
    g.harrowClicks = [];
    g.document.addEventListener('click', () => g.harrowClicks!.push(Date.now()), true);
  });
}

const lastClick = (page: Page): Promise<number | undefined> =>
  page.evaluate(() => (globalThis as unknown as ClickClock).harrowClicks?.at(-1));

export interface RestartFigure {
  vm: string;
  /** The click on the confirmation's Restart (which sends the request) → the server's record of the request, ms. */
  confirmToServer: number;
  /** The click on `button` → the same record (includes the confirmation dialog), ms. */
  buttonToServer: number;
}

/**
 * In the tab the operator looks at: clicks `button` (a Restart that asks for confirmation), then the confirmation's
 * Restart, and waits until the server has the request (its audit record, written as the server carries it out; its
 * timestamp is no earlier than the request's arrival). The clicks' moments are taken inside the page, when the click
 * event reaches it.
 */
export async function timeRestart(
  page: Page,
  server: HarrowServer,
  namespace: string,
  vm: string,
  button: Locator,
): Promise<RestartFigure> {
  await page.bringToFront();
  await noteClicks(page);
  const before = (await restartRecords(server, namespace, vm)).length;
  await waitFor(() => button.isEnabled(), { timeoutMs: 60_000, message: `${vm}: Restart enabled` });
  await button.click();
  const buttonClicked = await lastClick(page);
  const dialog = page.getByRole('dialog', { name: `Restart ${vm}?` });
  await dialog.getByRole('button', { name: `Restart ${vm}` }).click();
  const confirmed = await lastClick(page);
  if (buttonClicked === undefined || confirmed === undefined || confirmed <= buttonClicked)
    throw new Error(`the page noted no clicks on ${vm}'s Restart and its confirmation`);
  const record = await waitFor(
    async () => {
      const records = await restartRecords(server, namespace, vm);
      return records.length > before ? records.at(-1) : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, message: `the restart of ${vm} reaching the server` },
  );
  const received = Date.parse(record.spec.timestamp);
  return { vm, confirmToServer: received - confirmed, buttonToServer: received - buttonClicked };
}

/** The text of a test-id'd element, trimmed ('' when absent). */
export async function textOf(page: Page, testId: string): Promise<string> {
  const l = page.getByTestId(testId);
  return (await l.count()) > 0 ? ((await l.first().textContent()) ?? '').trim() : '';
}

/**
 * Every drift, restart-required and connectivity message on screen is for people: no backticks (CLI commands), no raw
 * JSON, no sentence starting in lower case (KubeVirt's internal wording). Returns the texts it checked.
 */
export async function assertPeoplesText(page: Page): Promise<string[]> {
  const texts = await page
    .locator(
      '[data-message], [data-testid="drift-banner"], [data-testid="restart-required-banner"], [data-testid="connectivity-banner"]',
    )
    .allTextContents();
  for (const raw of texts) {
    const text = raw.trim();
    if (text === '') continue;
    if (/[`{}]|"\w+":/.test(text)) throw new Error(`machine text on screen: ${text}`);
    const lower = /(?:^|[.!?]\s+)([a-z]\S*)/.exec(text);
    if (lower) throw new Error(`a sentence starts in lower case ("${lower[1]}"): ${text}`);
  }
  return texts;
}

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/** axe-core's serious and critical violations on what the page shows now, one line each, prefixed with `where`. */
export async function seriousAxeViolations(page: Page, where: string): Promise<string[]> {
  // Through the DevTools protocol, which the UI's Content-Security-Policy (script-src 'self') does not govern.
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } })
      .axe;
    return (await axe.run()).violations;
  })) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${where}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`,
    );
}

/** What the console tab's terminal shows now: xterm's DOM renderer keeps one element per screen row. */
export const consoleScreenText = (page: Page): Promise<string> =>
  page
    .getByTestId('console-screen')
    .locator('.xterm-rows')
    .innerText()
    .catch(() => '');

/** Waits until the console tab's terminal shows `pattern`; the match. A timeout says what the console showed instead. */
export async function expectOnConsole(
  page: Page,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return waitFor(
    async () => {
      const text = await consoleScreenText(page);
      const m = pattern.exec(text);
      if (!m) throw new Error(`the console shows:\n${text}`);
      return m[0];
    },
    { timeoutMs, message: `${pattern} on the console` },
  );
}
