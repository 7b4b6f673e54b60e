// The VM list at scale: one row per VM built once per change, then filtered (name, drift), sorted (name, state, MAC)
// and cut into pages. Pure, so a unit test pins down the order an operator sees.
import type { Pod, VirtualMachine, VirtualMachineInstance } from '../../../src/resources/types.ts';
import { launcherPodOf, nicViews, type NicView } from './nics.ts';
import { vmState } from './vm.ts';

export interface VmRow {
  name: string;
  vm: VirtualMachine;
  vmi: VirtualMachineInstance | undefined;
  pod: Pod | undefined;
  state: string;
  nics: NicView[];
  /** The first NIC's MAC as the list shows it (the platform's, else the manifest's): the MAC sort key. */
  mac: string | undefined;
  /** Some NIC's guest uses a MAC other than the platform's. */
  drift: boolean;
}

export type SortKey = 'name' | 'state' | 'mac';
export type SortDir = 'asc' | 'desc';

export interface ListView {
  filter: string;
  driftOnly: boolean;
  sort: SortKey;
  dir: SortDir;
  /** 1-based. */
  page: number;
  pageSize: number;
}

export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_VIEW: ListView = {
  filter: '',
  driftOnly: false,
  sort: 'name',
  dir: 'asc',
  page: 1,
  pageSize: 50,
};

/** The rows of every VM, matching instances and launcher pods by name in one pass each (not per row). */
export function vmRows(
  vms: VirtualMachine[],
  vmis: VirtualMachineInstance[],
  pods: Pod[],
): VmRow[] {
  const vmiByName = new Map(vmis.map((i) => [i.metadata.name, i]));
  const podsByVm = new Map<string, Pod[]>();
  for (const p of pods) {
    const owner = p.metadata.labels?.['vm.kubevirt.io/name'];
    if (owner === undefined) continue;
    const list = podsByVm.get(owner);
    if (list) list.push(p);
    else podsByVm.set(owner, [p]);
  }
  return vms.map((vm) => {
    const name = vm.metadata.name;
    const vmi = vmiByName.get(name);
    const pod = launcherPodOf(podsByVm.get(name) ?? [], name);
    const nics = nicViews(vm, vmi, pod);
    const first = nics[0];
    return {
      name,
      vm,
      vmi,
      pod,
      state: vmState(vm, vmi),
      nics,
      mac: first?.platformMac ?? first?.specMac,
      drift: nics.some((n) => n.drift),
    };
  });
}

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * MACs compare as text, lower-cased: their fixed width makes that their numeric order (a numeric collation would read
 * "0a" as a word after "01"). A row with a MAC sorts before one without (a VM with no MAC yet goes last either way).
 */
function compareMacs(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Filters by a name substring (case-insensitive) and drift, then sorts; ties fall back to the name. */
export function arrangeRows(
  rows: VmRow[],
  view: Pick<ListView, 'filter' | 'driftOnly' | 'sort' | 'dir'>,
): VmRow[] {
  const needle = view.filter.trim().toLowerCase();
  const kept = rows.filter(
    (r) => (needle === '' || r.name.toLowerCase().includes(needle)) && (!view.driftOnly || r.drift),
  );
  const sign = view.dir === 'asc' ? 1 : -1;
  const byName = (a: VmRow, b: VmRow): number => natural.compare(a.name, b.name);
  const primary = (a: VmRow, b: VmRow): number => {
    if (view.sort === 'state') return sign * natural.compare(a.state, b.state);
    if (view.sort === 'mac') {
      if ((a.mac === undefined) !== (b.mac === undefined)) return compareMacs(a.mac, b.mac);
      return sign * compareMacs(a.mac, b.mac);
    }
    return sign * byName(a, b);
  };
  return kept.sort((a, b) => primary(a, b) || byName(a, b));
}

export interface Page<T> {
  items: T[];
  /** The page shown (clamped to the pages there are). */
  page: number;
  pages: number;
  /** 1-based positions of the first and last item shown (0, 0 when empty). */
  first: number;
  last: number;
}

export function pageOf<T>(items: T[], page: number, pageSize: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
  const start = (p - 1) * pageSize;
  const slice = items.slice(start, start + pageSize);
  return {
    items: slice,
    page: p,
    pages,
    first: slice.length > 0 ? start + 1 : 0,
    last: start + slice.length,
  };
}

const SORT_KEYS: readonly SortKey[] = ['name', 'state', 'mac'];

/** The list's view from the address's query (?q=&drift=1&sort=mac&dir=desc&page=2&size=100), so it can be shared. */
export function viewFromQuery(q: URLSearchParams): ListView {
  const sort = q.get('sort') as SortKey | null;
  const size = Number(q.get('size'));
  return {
    filter: q.get('q') ?? '',
    driftOnly: q.get('drift') === '1',
    sort: sort !== null && SORT_KEYS.includes(sort) ? sort : DEFAULT_VIEW.sort,
    dir: q.get('dir') === 'desc' ? 'desc' : 'asc',
    page: Number(q.get('page')) || 1,
    pageSize: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_VIEW.pageSize,
  };
}

/** The query for a view, leaving out what is the default. */
export function queryOfView(v: ListView): string {
  const q = new URLSearchParams();
  if (v.filter !== '') q.set('q', v.filter);
  if (v.driftOnly) q.set('drift', '1');
  if (v.sort !== DEFAULT_VIEW.sort) q.set('sort', v.sort);
  if (v.dir !== DEFAULT_VIEW.dir) q.set('dir', v.dir);
  if (v.page !== 1) q.set('page', String(v.page));
  if (v.pageSize !== DEFAULT_VIEW.pageSize) q.set('size', String(v.pageSize));
  const s = q.toString();
  return s ? `?${s}` : '';
}
