// What `harrow serve` tells the user to type: `harrow` only when that is this harrow on PATH, else bin/harrow's path.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { harrowCommand } from '../../src/cli/serve.ts';

describe('harrowCommand', () => {
  const root = mkdtempSync(join(tmpdir(), 'harrow-cmd-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const repo = join(root, 'repo');
  const bin = join(repo, 'bin', 'harrow');
  mkdirSync(join(repo, 'bin'), { recursive: true });
  writeFileSync(bin, '#!/bin/sh\n');

  it('from the repository: bin/harrow', () => {
    assert.equal(harrowCommand('/usr/bin', repo, bin), join('bin', 'harrow'));
  });
  it('from elsewhere: the absolute path', () => {
    assert.equal(harrowCommand('/usr/bin', root + '/other', bin), bin);
  });
  it('on PATH through a symlink to the same file: harrow', () => {
    const onPath = join(root, 'path');
    mkdirSync(onPath);
    symlinkSync(bin, join(onPath, 'harrow'));
    assert.equal(harrowCommand(`/usr/bin:${onPath}`, root, bin), 'harrow');
  });
  it('another harrow on PATH does not count', () => {
    const other = join(root, 'other-path');
    mkdirSync(other);
    writeFileSync(join(other, 'harrow'), '#!/bin/sh\n');
    assert.equal(harrowCommand(other, repo, bin), join('bin', 'harrow'));
  });
});
