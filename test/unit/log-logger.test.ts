// The process logger: pino-pretty lines on a terminal, JSON lines otherwise, HARROW_LOG_FORMAT to choose.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { logFormat } from '../../src/log/logger.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What createLogger writes for one info line, in a child process whose stdout is a pipe. */
function logLine(format: string): string {
  const script = `import { createLogger } from './src/log/logger.ts';
const log = await createLogger('info');
log.info({ vm: 'demo', mac: '02:48:52:00:00:01' }, 'guest MAC differs');`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, HARROW_LOG_FORMAT: format, NO_COLOR: '1' },
    encoding: 'utf8',
  });
}

describe('process logger', () => {
  it('is pretty on a TTY and JSON elsewhere, unless HARROW_LOG_FORMAT says', () => {
    assert.equal(logFormat({}, true), 'pretty');
    assert.equal(logFormat({}, false), 'json');
    assert.equal(logFormat({ HARROW_LOG_FORMAT: 'json' }, true), 'json');
    assert.equal(logFormat({ HARROW_LOG_FORMAT: 'pretty' }, false), 'pretty');
    assert.equal(logFormat({ HARROW_LOG_FORMAT: 'fancy' }, false), 'json');
  });

  it('writes one JSON object per line, or a readable line with the fields', () => {
    const json = JSON.parse(logLine('json').trim()) as Record<string, unknown>;
    assert.equal(json.msg, 'guest MAC differs');
    assert.equal(json.vm, 'demo');
    const pretty = logLine('pretty');
    assert.doesNotMatch(pretty, /^\{/);
    assert.match(pretty, /INFO.*guest MAC differs/);
    assert.match(pretty, /vm: "demo"/);
  });
});
