// PATCH bodies: RFC 7386 merge patch, RFC 6902 JSON patch, kubectl's strategic merge patch directives, and the 415 for others.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  jsonPatch,
  mergePatch,
  patchBodyRefusal,
  patchTypeOf,
  strategicMergePatch,
} from '../../src/apiserver/patch.ts';
import { JsonPatchSchema, ObjectPatchSchema } from '../../src/apiserver/body-schemas.ts';
import { HarrowError, Invalid } from '../../src/resources/errors.ts';
import { validatorOf } from '../../src/resources/schema/check.ts';

describe('merge patch (RFC 7386)', () => {
  it('merges objects, replaces arrays and scalars, and deletes with null', () => {
    const target = { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] };
    assert.deepEqual(mergePatch(target, { a: 'z', c: { f: null, h: 1 }, list: [3] }), {
      a: 'z',
      c: { d: 'e', h: 1 },
      list: [3],
    });
    assert.deepEqual(
      target,
      { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] },
      'the target is not changed',
    );
  });
  it('follows the RFC 7386 appendix examples', () => {
    assert.deepEqual(mergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
    assert.deepEqual(mergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
    assert.deepEqual(mergePatch({ a: 'b', b: 'c' }, { a: null }), { b: 'c' });
    assert.deepEqual(mergePatch({ a: ['b'] }, { a: 'c' }), { a: 'c' });
    assert.deepEqual(mergePatch({ a: 'c' }, { a: ['b'] }), { a: ['b'] });
    assert.deepEqual(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
    assert.deepEqual(mergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
    assert.deepEqual(mergePatch(['a', 'b'], ['c', 'd']), ['c', 'd']);
    assert.deepEqual(mergePatch({ e: null }, { a: 1 }), { e: null, a: 1 });
    assert.deepEqual(mergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
  });
  it('must be an object when applied to a resource', () => {
    for (const body of [[1], 'x', null]) {
      assert.equal(validatorOf(ObjectPatchSchema).Check(body), false);
      assert.equal(patchBodyRefusal('merge', body).code, 400);
      assert.match(patchBodyRefusal('strategic', body).message, /must be a JSON object/);
    }
    assert.equal(validatorOf(ObjectPatchSchema).Check({ spec: null }), true);
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc = {
    spec: { template: { interfaces: [{ name: 'a' }, { name: 'b' }] }, runStrategy: 'Halted' },
  };
  it('applies add, remove, replace, move, copy and test in order', () => {
    const out = jsonPatch(doc, [
      { op: 'test', path: '/spec/runStrategy', value: 'Halted' },
      { op: 'replace', path: '/spec/runStrategy', value: 'Always' },
      { op: 'add', path: '/spec/template/interfaces/-', value: { name: 'c' } },
      { op: 'add', path: '/spec/template/interfaces/0', value: { name: 'first' } },
      { op: 'remove', path: '/spec/template/interfaces/1' },
      { op: 'copy', from: '/spec/runStrategy', path: '/spec/copied' },
      { op: 'move', from: '/spec/copied', path: '/spec/moved' },
      { op: 'add', path: '/metadata', value: { labels: { 'a/b~c': 'x' } } },
      { op: 'replace', path: '/metadata/labels/a~1b~0c', value: 'y' },
    ]);
    assert.deepEqual(out, {
      spec: {
        template: { interfaces: [{ name: 'first' }, { name: 'b' }, { name: 'c' }] },
        runStrategy: 'Always',
        moved: 'Always',
      },
      metadata: { labels: { 'a/b~c': 'y' } },
    });
    assert.equal(doc.spec.runStrategy, 'Halted', 'the target is not changed');
  });
  it('a failed test is Invalid naming the field', () => {
    assert.throws(
      () => jsonPatch(doc, [{ op: 'test', path: '/spec/template/interfaces/1/name', value: 'x' }]),
      (e: Invalid) =>
        e.code === 422 && e.details.causes?.[0]?.field === 'spec.template.interfaces[1].name',
    );
  });
  it('rejects missing paths, out-of-range indexes and malformed operations', () => {
    assert.throws(
      () => jsonPatch(doc, [{ op: 'remove', path: '/spec/nope' }]),
      (e: HarrowError) => e.code === 422,
    );
    assert.throws(
      () => jsonPatch(doc, [{ op: 'replace', path: '/spec/template/interfaces/5', value: 1 }]),
      (e: HarrowError) => e.code === 422,
    );
    assert.throws(
      () => jsonPatch(doc, [{ op: 'add', path: '/spec/template/interfaces/01', value: 1 }]),
      (e: HarrowError) => e.code === 422,
    );
    assert.throws(
      () => jsonPatch(doc, [{ op: 'add', path: 'spec', value: 1 }]),
      (e: HarrowError) => e.code === 400,
    );
    assert.throws(
      () => jsonPatch(doc, [{ op: 'move', from: '/spec', path: '/spec/inner' }]),
      (e: HarrowError) => e.code === 422,
    );
  });
});

describe('strategic merge patch', () => {
  const pod = {
    metadata: { finalizers: ['a', 'b'], labels: { x: '1' } },
    spec: {
      containers: [
        { name: 'compute', image: 'launcher:1', env: [{ name: 'A', value: '1' }] },
        { name: 'sidecar', image: 'side:1' },
      ],
    },
  };
  it('merges a list by the key kubectl names in $setElementOrder, keeping elements the patch does not mention', () => {
    const out = strategicMergePatch(pod, {
      spec: {
        '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'compute' }],
        containers: [{ name: 'sidecar', image: 'side:2' }],
      },
    });
    assert.deepEqual(out, {
      metadata: pod.metadata,
      spec: {
        containers: [
          { name: 'sidecar', image: 'side:2' },
          { name: 'compute', image: 'launcher:1', env: [{ name: 'A', value: '1' }] },
        ],
      },
    });
  });
  it('deletes list elements with $patch: delete, primitives with $deleteFromPrimitiveList, maps with null', () => {
    const out = strategicMergePatch(pod, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a'], labels: { x: null, y: '2' } },
      spec: {
        '$setElementOrder/containers': [{ name: 'compute' }],
        containers: [{ name: 'sidecar', $patch: 'delete' }],
      },
    });
    assert.deepEqual(out, {
      metadata: { finalizers: ['b'], labels: { y: '2' } },
      spec: { containers: [pod.spec.containers[0]] },
    });
  });
  it('without directives it is a merge patch: lists are replaced', () => {
    assert.deepEqual(strategicMergePatch({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } }), {
      a: [3],
      b: { c: 1, d: 2 },
    });
  });
  it('$patch: replace replaces a map', () => {
    assert.deepEqual(
      strategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } }),
      { a: { d: 3 } },
    );
  });
});

describe('patch media types', () => {
  it('maps the three patch types and server-side apply, and answers 415 for others', () => {
    assert.equal(patchTypeOf('application/merge-patch+json'), 'merge');
    assert.equal(patchTypeOf('application/json-patch+json; charset=utf-8'), 'json');
    assert.equal(patchTypeOf('application/strategic-merge-patch+json'), 'strategic');
    assert.throws(
      () => patchTypeOf('application/json'),
      (e: HarrowError) => e.code === 415 && e.reason === 'UnsupportedMediaType',
    );
    assert.equal(patchTypeOf('application/apply-patch+yaml'), 'apply');
  });
});

describe('a JSON patch body that does not decode into operations', () => {
  const malformed: Array<[unknown, RegExp]> = [
    [[{ op: 'frobnicate', path: '/spec' }], /operation 0: op "frobnicate" is not one of add/],
    [[{ op: 'add', path: '/spec/x' }], /operation 0 \(add\): "value" is required/],
    [[{ op: 'move', path: '/spec' }], /operation 0 \(move\): "from" must be a string/],
    [[{ op: 'remove', path: 5 }], /operation 0 \(remove\): "path" must be a string/],
    [[{ op: 'remove', path: '/a' }, 'x'], /operation 1 is not an object/],
    [{ op: 'add' }, /must be a JSON array of operations/],
  ];
  for (const [body, words] of malformed) {
    it(`${JSON.stringify(body)} fails the route's schema and is refused naming the problem`, () => {
      assert.equal(validatorOf(JsonPatchSchema).Check(body), false);
      const refusal = patchBodyRefusal('json', body);
      assert.equal(refusal.code, 400);
      assert.match(refusal.message, words);
    });
  }
  it('well-formed operations pass the schema', () => {
    const ops = [
      { op: 'add', path: '/a', value: null },
      { op: 'remove', path: '/a' },
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'test', path: '/b', value: 1 },
    ];
    assert.equal(validatorOf(JsonPatchSchema).Check(ops), true);
  });
});
