// Label and field selectors as Kubernetes parses and applies them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  labelsMatch,
  parseFieldSelector,
  parseLabelSelector,
  parseSelector,
  selectorMatches,
} from '../../src/apiserver/selectors.ts';
import { HarrowError } from '../../src/resources/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';

const matches = (selector: string, labels: Record<string, string>): boolean =>
  labelsMatch(parseLabelSelector(selector), labels);

describe('label selectors', () => {
  it('parses every operator', () => {
    assert.deepEqual(parseLabelSelector('a=1,b==2,c!=3,d in (x, y),e notin (z),f,!g,h>5,i<7'), [
      { key: 'a', operator: 'eq', values: ['1'] },
      { key: 'b', operator: 'eq', values: ['2'] },
      { key: 'c', operator: 'neq', values: ['3'] },
      { key: 'd', operator: 'in', values: ['x', 'y'] },
      { key: 'e', operator: 'notin', values: ['z'] },
      { key: 'f', operator: 'exists', values: [] },
      { key: 'g', operator: 'notexists', values: [] },
      { key: 'h', operator: 'gt', values: ['5'] },
      { key: 'i', operator: 'lt', values: ['7'] },
    ]);
    assert.deepEqual(parseLabelSelector(''), []);
    assert.deepEqual(parseLabelSelector('vm.kubevirt.io/name=web-1'), [
      { key: 'vm.kubevirt.io/name', operator: 'eq', values: ['web-1'] },
    ]);
    assert.deepEqual(parseLabelSelector('a='), [{ key: 'a', operator: 'eq', values: [''] }]);
  });
  it('matches as Kubernetes does (!= and notin also select objects without the label)', () => {
    const labels = { app: 'web', tier: 'front', n: '10' };
    assert.equal(matches('app=web', labels), true);
    assert.equal(matches('app=db', labels), false);
    assert.equal(matches('app!=db', labels), true);
    assert.equal(matches('missing!=x', labels), true);
    assert.equal(matches('app in (db, web)', labels), true);
    assert.equal(matches('app notin (web)', labels), false);
    assert.equal(matches('missing notin (web)', labels), true);
    assert.equal(matches('tier', labels), true);
    assert.equal(matches('!tier', labels), false);
    assert.equal(matches('n>9,n<11', labels), true);
    assert.equal(matches('n>10', labels), false);
    assert.equal(matches('app=web,tier=back', labels), false);
  });
  it('rejects malformed selectors with BadRequest', () => {
    for (const bad of [
      'app in web',
      'app in ()',
      'app=web,',
      '=x',
      'a b',
      'a=b c',
      'a in (x',
      'a>b',
      'Bad Key=1',
      'a=-x-',
    ]) {
      assert.throws(
        () => parseLabelSelector(bad),
        (e: HarrowError) => e.code === 400 && e.reason === 'BadRequest',
        bad,
      );
    }
  });
});

describe('field selectors', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName: 'n1' },
    status: { phase: 'Running' },
  };
  const event: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e', namespace: 'ns' },
    involvedObject: { kind: 'VirtualMachine', name: 'web' },
    reason: 'GuestMACMismatch',
    type: 'Warning',
  };
  it('selects by name, namespace, phase and node', () => {
    assert.equal(
      selectorMatches(parseSelector('Pod', undefined, 'metadata.name=p,status.phase=Running'), pod),
      true,
    );
    assert.equal(selectorMatches(parseSelector('Pod', undefined, 'spec.nodeName!=n1'), pod), false);
    assert.equal(
      selectorMatches(parseSelector('Pod', undefined, 'metadata.namespace==ns'), pod),
      true,
    );
  });
  it('selects events by their involved object', () => {
    assert.equal(
      selectorMatches(
        parseSelector(
          'Event',
          undefined,
          'involvedObject.name=web,involvedObject.kind=VirtualMachine',
        ),
        event,
      ),
      true,
    );
    assert.equal(
      selectorMatches(parseSelector('Event', undefined, 'involvedObject.name=db'), event),
      false,
    );
    assert.equal(
      selectorMatches(
        parseSelector('Event', undefined, 'type=Warning,reason=GuestMACMismatch'),
        event,
      ),
      true,
    );
  });
  it('rejects fields the kind does not index, and malformed terms', () => {
    assert.throws(
      () => parseFieldSelector('spec.runStrategy=Always', 'VirtualMachine'),
      (e: HarrowError) =>
        e.code === 400 && /field label not supported: spec.runStrategy/.test(e.message),
    );
    assert.throws(
      () => parseFieldSelector('involvedObject.name=x', 'Pod'),
      (e: HarrowError) => e.code === 400,
    );
    assert.throws(
      () => parseFieldSelector('metadata.name', 'Pod'),
      (e: HarrowError) => e.code === 400,
    );
  });
  it('honours backslash escapes in values', () => {
    assert.deepEqual(parseFieldSelector('metadata.name=a\\,b', 'Pod'), [
      { field: 'metadata.name', operator: 'eq', value: 'a,b' },
    ]);
  });
});
