// Warning headers go out in ASCII: browsers and fetch read header bytes as Latin-1, so UTF-8 would arrive garbled.
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { describe, it } from 'node:test';
import { asciiWarning, setWarnings } from '../../src/apiserver/resources.ts';
import { parseWarningHeader } from '../../src/client/warnings.ts';

describe('Warning headers', () => {
  it('spell arrows, ellipses and dashes in ASCII; anything else non-ASCII is ?; control characters are spaces', () => {
    assert.equal(
      asciiWarning('interface default: macAddress 02:48:52:00:00:01 → 02:48:52:00:00:02 …'),
      'interface default: macAddress 02:48:52:00:00:01 -> 02:48:52:00:00:02 ...',
    );
    assert.equal(asciiWarning('a — b’s\tc\nd ☃ 😀'), "a - b's c d ? ?");
  });

  it('the header on the wire is ASCII and quoted, and the client reads back the ASCII text', async () => {
    const app = Fastify();
    app.get('/', (_req, reply) => {
      setWarnings(reply, ['old → new "quoted" \\ back']);
      return {};
    });
    const r = await app.inject({ method: 'GET', url: '/' });
    await app.close();
    const raw = String(r.headers.warning);
    assert.equal(raw, '299 - "old -> new \\"quoted\\" \\\\ back"');
    assert.ok(/^[\x20-\x7e]*$/.test(raw), raw);
    assert.deepEqual(parseWarningHeader(raw), ['old -> new "quoted" \\ back']);
  });
});
