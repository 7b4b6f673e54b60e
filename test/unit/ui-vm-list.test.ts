// The VM list's order and pages as an operator sees them: natural name order, state and MAC sorts with the name as the
// tie-break, a name and drift filter, pages clamped to what there is, and the view carried in the address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  arrangeRows,
  DEFAULT_VIEW,
  pageOf,
  queryOfView,
  viewFromQuery,
  type VmRow,
} from '../../web/src/model/vm-list.ts';

const row = (name: string, state: string, mac: string | undefined, drift = false): VmRow =>
  ({ name, state, mac, drift, nics: [] }) as unknown as VmRow;

const ROWS = [
  row('vm-10', 'Running', '02:00:00:00:00:0A'),
  row('vm-2', 'Stopped', '02:00:00:00:00:01', true),
  row('web-1', 'Running', undefined),
  row('vm-1', 'Running', '02:00:00:00:00:09', true),
];
const names = (rows: VmRow[]): string[] => rows.map((r) => r.name);

describe('VM list order, filter and pages', () => {
  it('sorts names naturally (vm-2 before vm-10), both ways', () => {
    assert.deepEqual(names(arrangeRows(ROWS, DEFAULT_VIEW)), ['vm-1', 'vm-2', 'vm-10', 'web-1']);
    assert.deepEqual(names(arrangeRows(ROWS, { ...DEFAULT_VIEW, dir: 'desc' })), [
      'web-1',
      'vm-10',
      'vm-2',
      'vm-1',
    ]);
  });

  it('sorts by state with the name as tie-break, and by MAC in hex order (…:09 before …:0a) with a VM without one last either way', () => {
    assert.deepEqual(names(arrangeRows(ROWS, { ...DEFAULT_VIEW, sort: 'state' })), [
      'vm-1',
      'vm-10',
      'web-1',
      'vm-2',
    ]);
    assert.deepEqual(names(arrangeRows(ROWS, { ...DEFAULT_VIEW, sort: 'mac' })), [
      'vm-2',
      'vm-1',
      'vm-10',
      'web-1',
    ]);
    assert.deepEqual(names(arrangeRows(ROWS, { ...DEFAULT_VIEW, sort: 'mac', dir: 'desc' })), [
      'vm-10',
      'vm-1',
      'vm-2',
      'web-1',
    ]);
  });

  it('filters by a case-insensitive name part and by drift', () => {
    assert.deepEqual(names(arrangeRows(ROWS, { ...DEFAULT_VIEW, filter: ' VM-1' })), [
      'vm-1',
      'vm-10',
    ]);
    assert.deepEqual(names(arrangeRows(ROWS, { ...DEFAULT_VIEW, driftOnly: true })), [
      'vm-1',
      'vm-2',
    ]);
  });

  it('cuts pages and clamps a page past the end', () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const p = pageOf(items, 3, 50);
    assert.deepEqual([p.page, p.pages, p.first, p.last, p.items[0]], [3, 20, 101, 150, 100]);
    const last = pageOf(items, 99, 200);
    assert.deepEqual([last.page, last.first, last.last], [5, 801, 1000]);
    assert.deepEqual(pageOf([], 2, 25), { items: [], page: 1, pages: 1, first: 0, last: 0 });
  });

  it('carries the view in the address and back, leaving out defaults and ignoring nonsense', () => {
    const v = { ...DEFAULT_VIEW, filter: 'web', driftOnly: true, sort: 'mac' as const, page: 2 };
    assert.equal(queryOfView(v), '?q=web&drift=1&sort=mac&page=2');
    assert.deepEqual(viewFromQuery(new URLSearchParams(queryOfView(v))), v);
    assert.equal(queryOfView(DEFAULT_VIEW), '');
    assert.deepEqual(
      viewFromQuery(new URLSearchParams('sort=rm&size=7&page=x&dir=up')),
      DEFAULT_VIEW,
    );
  });
});
