// The UI reads the server's Warning headers (kube-apiserver's `299 - "text"`) back into their texts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warningsOf } from '../../web/src/api/client.ts';

describe('web UI: Warning headers', () => {
  it('reads each warning of a joined header, unescaping quotes and backslashes', () => {
    assert.deepEqual(warningsOf(null), []);
    assert.deepEqual(warningsOf(''), []);
    assert.deepEqual(warningsOf('299 - "one, with a comma"'), ['one, with a comma']);
    assert.deepEqual(
      warningsOf(
        '299 - "line 5 (macaddress: \\"02:aa:16:00:00:41\\") still matches", 299 - "a \\\\ b"',
      ),
      ['line 5 (macaddress: "02:aa:16:00:00:41") still matches', 'a \\ b'],
    );
  });
});
