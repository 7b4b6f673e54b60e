// Debian's Chromium driven by playwright-core for the UI tests: a fresh profile, console errors collected, screenshots per step.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps dialling Google's hosts, which this machine refuses. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
export const SCREENSHOT_DIR = resolve('test-results', 'ui');

export interface ConsoleProblem {
  text: string;
  url: string;
}

export interface BrowserSession {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught page errors since launch (or since the last `takeConsoleProblems`). */
  takeConsoleProblems(): ConsoleProblem[];
  /** Saves test-results/ui/<prefix>-<nn>-<step>.png (numbered in call order) and returns its path. */
  screenshot(step: string): Promise<string>;
  close(): Promise<void>;
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** Launches Chromium with a new, empty user-data dir that is removed on close. */
export async function launchBrowser(
  prefix: string,
  viewport = { width: 1440, height: 900 },
  /** For a server started with `--tls auto`: its certificate is signed by a CA made for the test. */
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'harrow-chromium-'));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  // Screenshots of an earlier run under this prefix would mix with this run's numbering.
  for (const f of await readdir(SCREENSHOT_DIR)) {
    if (f.startsWith(`${slug(prefix)}-`) && f.endsWith('.png'))
      await rm(join(SCREENSHOT_DIR, f), { force: true });
  }
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      timeout: 60_000,
      ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  let problems: ConsoleProblem[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') problems.push({ text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) =>
    problems.push({ text: `uncaught: ${err.message}`, url: page.url() }),
  );
  let n = 0;
  return {
    page,
    context,
    takeConsoleProblems() {
      const p = problems;
      problems = [];
      return p;
    },
    async screenshot(step: string) {
      n += 1;
      const path = join(
        SCREENSHOT_DIR,
        `${slug(prefix)}-${String(n).padStart(2, '0')}-${slug(step)}.png`,
      );
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Chromium logs every 4xx answer to fetch as a console error. A dry run the server rejects is the UI working as
 * meant (the field error comes from it), so exactly those are set aside; anything else is a real problem.
 */
export function unexpectedProblems(problems: ConsoleProblem[]): ConsoleProblem[] {
  return problems.filter(
    (p) => !(p.url.includes('dryRun=All') && /status of 4(09|22)/.test(p.text)),
  );
}
