// Virtual machines of the namespace at any count: filter by name and drift, sort by name, state or MAC, pages, a
// selection with bulk actions behind one confirmation, and per-row actions that make only their own row wait.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { isEmpty } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { DriftBadge, PendingBadge, StateBadge } from '../components/badges.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { Age } from '../components/time.tsx';
import { urls } from '../model/urls.ts';
import {
  arrangeRows,
  PAGE_SIZES,
  pageOf,
  queryOfView,
  viewFromQuery,
  vmRows,
  type ListView,
  type SortKey,
  type VmRow,
} from '../model/vm-list.ts';
import { actionsFor, cpuOf, memoryOf } from '../model/vm.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.ts';
import { bulkRequest, deleteRequest, restartRequest, stopRequest } from './vm-confirm.tsx';
import { countOf, useVmAction, useVmData, VERB, type VmOp } from './vm-data.ts';

const OPS: readonly VmOp[] = ['start', 'stop', 'restart', 'delete'];

/** Below this width the list leaves out CPU / Memory, Node and Age so the rest fits without scrolling sideways. */
const WIDE = '(min-width: 1280px)';

function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const m = window.matchMedia(query);
    const update = (): void => setMatches(m.matches);
    m.addEventListener('change', update);
    update();
    return () => m.removeEventListener('change', update);
  }, [query]);
  return matches;
}

export function VmListPage(): ReactNode {
  const { namespace } = useSession();
  const { vms, vmis, pods } = useVmData(namespace);
  const { run, runMany, busy } = useVmAction(namespace);
  const { dialog, confirm } = useConfirm();
  const wide = useMedia(WIDE);
  const columns = wide ? 9 : 6;
  const { query } = useLocation();
  const view = viewFromQuery(query);
  const setView = (change: Partial<ListView>): void => {
    // Any change but the page itself starts again at page 1.
    const next = { ...view, page: 1, ...change };
    navigate(`${urls.vms(namespace)}${queryOfView(next)}`, { replace: true });
  };
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const all = useMemo(
    () => vmRows(vms.items, vmis.items, pods.items),
    [vms.items, vmis.items, pods.items],
  );
  const arranged = useMemo(
    () => arrangeRows(all, view),
    // The view's fields, not the object rebuilt on every render.
    [all, view.filter, view.driftOnly, view.sort, view.dir],
  );
  const page = pageOf(arranged, view.page, view.pageSize);
  const driftCount = all.filter((r) => r.drift).length;
  const existing = new Set(all.map((r) => r.name));
  const chosen = [...selected].filter((n) => existing.has(n));
  const onPage = page.items.map((r) => r.name);
  const allOnPage = onPage.length > 0 && onPage.every((n) => selected.has(n));
  const someOnPage = onPage.some((n) => selected.has(n));

  const toggle = (name: string, on: boolean): void =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  const togglePage = (on: boolean): void =>
    setSelected((s) => {
      const next = new Set(s);
      for (const n of onPage) {
        if (on) next.add(n);
        else next.delete(n);
      }
      return next;
    });
  const bulk = (op: VmOp): void =>
    confirm(
      bulkRequest(op, chosen, () => {
        setSelected(new Set());
        void runMany(chosen, op);
      }),
    );
  const filtered = view.filter.trim() !== '' || view.driftOnly;

  return (
    <section aria-labelledby="vms-title" className="vm-list">
      {dialog}
      <div className="page-head">
        <h1 id="vms-title">Virtual Machines</h1>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => navigate(urls.vmCreate(namespace))}
        >
          Create
        </button>
      </div>
      <div className="list-tools" role="search" aria-label="Filter virtual machines">
        <label className="sr-only" htmlFor="vm-filter">
          Filter by name
        </label>
        <input
          id="vm-filter"
          type="search"
          placeholder="Filter by name"
          value={view.filter}
          onChange={(e) => setView({ filter: e.target.value })}
        />
        <label className="check">
          <input
            type="checkbox"
            checked={view.driftOnly}
            onChange={(e) => setView({ driftOnly: e.target.checked })}
          />
          Only MAC drift ({driftCount.toLocaleString('en')})
        </label>
        <span className="list-count" data-testid="vm-count" role="status">
          {vms.loaded
            ? filtered
              ? `${arranged.length.toLocaleString('en')} of ${countOf(all.length)}`
              : countOf(all.length)
            : ''}
        </span>
      </div>
      {chosen.length > 0 ? (
        <div className="bulk-bar" role="toolbar" aria-label="Selected virtual machines">
          <strong data-testid="selected-count">
            {chosen.length.toLocaleString('en')} selected
          </strong>
          {OPS.map((op) => (
            <button
              key={op}
              type="button"
              className={`btn btn-small${op === 'delete' ? ' btn-danger-outline' : ''}`}
              onClick={() => bulk(op)}
            >
              {`${VERB[op]} selected`}
            </button>
          ))}
          <button
            type="button"
            className="btn btn-small btn-ghost"
            onClick={() => setSelected(new Set())}
          >
            Clear selection
          </button>
        </div>
      ) : null}
      <ApiErrorNotice error={vms.error} what="Listing virtual machines" />
      <div className="table-frame">
        <table className="table vm-table">
          <caption className="sr-only">Virtual machines in namespace {namespace}</caption>
          <colgroup>
            <col className="c-select" />
            <col className="c-state" />
            <col className="c-name" />
            {wide ? <col className="c-size" /> : null}
            {wide ? <col className="c-node" /> : null}
            <col className="c-ips" />
            <col className="c-nics" />
            {wide ? <col className="c-age" /> : null}
            <col className="c-actions" />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select every virtual machine on this page"
                  checked={allOnPage}
                  ref={(el) => {
                    if (el) el.indeterminate = someOnPage && !allOnPage;
                  }}
                  onChange={(e) => togglePage(e.target.checked)}
                />
              </th>
              <SortHeader label="State" sortKey="state" view={view} setView={setView} />
              <SortHeader label="Name" sortKey="name" view={view} setView={setView} />
              {wide ? <th scope="col">CPU / Memory</th> : null}
              {wide ? <th scope="col">Node</th> : null}
              <th scope="col">IP addresses</th>
              <SortHeader
                label="NICs and MAC addresses"
                sortKey="mac"
                view={view}
                setView={setView}
              />
              {wide ? <th scope="col">Age</th> : null}
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((row) => (
              <Row
                key={row.name}
                row={row}
                wide={wide}
                namespace={namespace}
                busy={busy.has(row.name)}
                selected={selected.has(row.name)}
                onSelect={(on) => toggle(row.name, on)}
                onRun={(op) => {
                  const go = (): void => void run(row.name, op);
                  if (op === 'stop') confirm(stopRequest(row.name, go));
                  else if (op === 'restart') confirm(restartRequest(row.name, go));
                  else if (op === 'delete') confirm(deleteRequest(row.name, namespace, go));
                  else go();
                }}
              />
            ))}
            {page.items.length === 0 && (filtered ? vms.loaded : isEmpty(vms)) ? (
              <tr>
                <td colSpan={columns} className="empty">
                  {filtered
                    ? 'No virtual machine matches the filter.'
                    : `No virtual machines in ${namespace} yet.`}
                </td>
              </tr>
            ) : null}
            {!vms.loaded ? (
              <tr>
                <td colSpan={columns} className="empty">
                  {vms.stale || vms.error
                    ? 'Not loaded: the server did not answer the list.'
                    : 'Loading…'}
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <span data-testid="page-range">
          {page.first > 0
            ? `${page.first.toLocaleString('en')}–${page.last.toLocaleString('en')} of ${arranged.length.toLocaleString('en')}`
            : ''}
        </span>
        <label>
          Per page{' '}
          <select
            value={view.pageSize}
            onChange={(e) => setView({ pageSize: Number(e.target.value) })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="btn btn-small"
          disabled={page.page <= 1}
          onClick={() => setView({ page: page.page - 1 })}
        >
          Previous page
        </button>
        <span data-testid="page-of">
          Page {page.page} of {page.pages}
        </span>
        <button
          type="button"
          className="btn btn-small"
          disabled={page.page >= page.pages}
          onClick={() => setView({ page: page.page + 1 })}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

function SortHeader(props: {
  label: string;
  sortKey: SortKey;
  view: ListView;
  setView(change: Partial<ListView>): void;
}): ReactNode {
  const { view, sortKey } = props;
  const active = view.sort === sortKey;
  return (
    <th scope="col" aria-sort={active ? (view.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        className="sort"
        onClick={() =>
          props.setView({
            sort: sortKey,
            dir: active && view.dir === 'asc' ? 'desc' : 'asc',
          })
        }
      >
        {props.label}
        <span aria-hidden="true" className="sort-mark">
          {active ? (view.dir === 'asc' ? ' ▲' : ' ▼') : ''}
        </span>
      </button>
    </th>
  );
}

function Row(props: {
  row: VmRow;
  wide: boolean;
  namespace: string;
  busy: boolean;
  selected: boolean;
  onSelect(on: boolean): void;
  onRun(op: VmOp): void;
}): ReactNode {
  const { row, busy } = props;
  const { name, vm, vmi, pod, state, nics } = row;
  const can = actionsFor(state);
  const node = vmi?.status?.nodeName ?? pod?.spec.nodeName;
  const ips = nics.flatMap((n) => n.ips);
  const size = `${cpuOf(vm) ?? 1} vCPU · ${memoryOf(vm) ?? '—'}`;
  return (
    <tr
      data-vm={name}
      data-busy={busy || undefined}
      className={props.selected ? 'selected' : undefined}
    >
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${name}`}
          checked={props.selected}
          onChange={(e) => props.onSelect(e.target.checked)}
        />
      </td>
      <td>
        <StateBadge state={state} />
      </td>
      <td className="cell-name">
        <Link to={urls.vm(props.namespace, name)} title={name} className="clip">
          {name}
        </Link>
      </td>
      {props.wide ? (
        <td title={size}>
          <span className="clip">{size}</span>
        </td>
      ) : null}
      {props.wide ? (
        <td title={node}>
          <span className="clip">{node ?? '—'}</span>
        </td>
      ) : null}
      <td className="mono">
        {ips.length > 0
          ? ips.map((ip) => (
              <div key={ip} className="clip" title={ip}>
                {ip}
              </div>
            ))
          : '—'}
      </td>
      <td>
        <ul className="nic-list">
          {nics.map((n) => (
            <li key={n.name} data-nic={n.name}>
              <span className="mono" data-testid={`mac-${name}-${n.name}`}>
                {n.platformMac ?? n.specMac ?? 'pending'}
              </span>
              <span className="muted small clip" title={`${n.name} on ${n.network}`}>
                {n.name} · {n.network}
              </span>
              {n.drift ? <DriftBadge nic={n.name} guestMac={n.guestMac} /> : null}
              {n.pendingRestart && n.specMac ? <PendingBadge mac={n.specMac} /> : null}
            </li>
          ))}
        </ul>
      </td>
      {props.wide ? (
        <td className="nowrap">
          <Age iso={vm.metadata.creationTimestamp} />
        </td>
      ) : null}
      <td className="actions">
        {OPS.map((op) => (
          <button
            key={op}
            type="button"
            className={`btn btn-small${op === 'delete' ? ' btn-danger-outline' : ''}`}
            disabled={busy || (op !== 'delete' && !can[op])}
            onClick={() => props.onRun(op)}
            aria-label={`${VERB[op]} ${name}`}
          >
            {VERB[op]}
          </button>
        ))}
      </td>
    </tr>
  );
}
