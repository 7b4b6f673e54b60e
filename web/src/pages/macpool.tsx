// The MAC pool: ranges, usage, who holds an address or when its quarantine ends, and every allocation.
import { useState, type FormEvent, type ReactNode } from 'react';
import {
  macAllocationName,
  type MacAllocation,
  type MacPool,
} from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { paths } from '../api/paths.ts';
import { useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { TextField } from '../components/field.tsx';
import { localTime } from '../components/time.tsx';
import { checkMac, macInRange } from '../model/mac-field.ts';
import { shareText, statusBehind, usageWidths } from '../model/pool.ts';
import { Link } from '../router.tsx';
import { urls } from '../model/urls.ts';
import { useSession } from '../session.ts';
import { RangesEditor } from './macpool-ranges.tsx';

type StateFilter = 'all' | 'InUse' | 'Quarantined' | 'outside';

type Lookup =
  | { kind: 'held'; allocation: MacAllocation }
  | { kind: 'free'; mac: string; pool: string | undefined };

export function MacPoolPage(): ReactNode {
  const { api, namespace } = useSession();
  const pools = useLiveList<MacPool>(api, paths.macPools());
  const allocations = useLiveList<MacAllocation>(api, paths.macAllocations());
  const [query, setQuery] = useState('');
  const [queryError, setQueryError] = useState<string>();
  const [lookup, setLookup] = useState<Lookup>();
  const [lookupError, setLookupError] = useState<ApiError>();
  const [stateFilter, setStateFilter] = useState<StateFilter>('all');

  const search = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setLookup(undefined);
    setLookupError(undefined);
    const c = checkMac(query);
    if (c.kind !== 'valid') {
      setQueryError(c.kind === 'empty' ? 'Type a MAC address to look up.' : c.message);
      return;
    }
    setQueryError(undefined);
    try {
      const allocation = await api.get<MacAllocation>(
        paths.macAllocation(macAllocationName(c.mac)),
      );
      setLookup({ kind: 'held', allocation });
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) {
        const pool = pools.items.find((p) => p.spec.ranges.some((r) => macInRange(c.mac, r)));
        setLookup({ kind: 'free', mac: c.mac, pool: pool?.metadata.name });
      } else {
        setLookupError(
          err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err)),
        );
      }
    }
  };

  const outside = (a: MacAllocation): boolean =>
    !pools.items.some((p) => p.spec.ranges.some((r) => macInRange(a.spec.macAddress, r)));
  const shown = allocations.items
    .filter((a) =>
      stateFilter === 'all'
        ? true
        : stateFilter === 'outside'
          ? outside(a)
          : a.status?.state === stateFilter,
    )
    .sort((a, b) => a.spec.macAddress.localeCompare(b.spec.macAddress));

  return (
    <section aria-labelledby="pool-title">
      <h1 id="pool-title">MAC Pool</h1>
      <ApiErrorNotice error={pools.error} what="Listing MAC pools" />
      <div className="pool-grid">
        {pools.items.map((p) => (
          <PoolCard
            key={p.metadata.name}
            pool={p}
            onShowOutside={() => setStateFilter('outside')}
          />
        ))}
        {pools.loaded && pools.items.length === 0 ? (
          <p className="muted">No MAC pool is defined.</p>
        ) : null}
      </div>

      <form
        className="card lookup"
        onSubmit={(e) => void search(e)}
        role="search"
        aria-labelledby="lookup-title"
      >
        <h2 id="lookup-title" className="card-title">
          Who holds an address?
        </h2>
        <div className="lookup-row">
          <TextField
            label="MAC address"
            value={query}
            onChange={(v) => {
              setQuery(v);
              setQueryError(undefined);
            }}
            error={queryError}
            placeholder="02:00:00:12:34:56"
            mono
          />
          <button type="submit" className="btn btn-primary">
            Look up
          </button>
        </div>
        <ApiErrorNotice error={lookupError} />
        {lookup ? <LookupResult lookup={lookup} namespace={namespace} /> : null}
      </form>

      <div className="page-head">
        <h2>Allocations</h2>
        <div className="page-tools">
          <label htmlFor="alloc-state">State</label>
          <select
            id="alloc-state"
            value={stateFilter}
            onChange={(e) => setStateFilter(e.target.value as StateFilter)}
          >
            <option value="all">All</option>
            <option value="InUse">In use</option>
            <option value="Quarantined">Quarantined</option>
            <option value="outside">Outside every range</option>
          </select>
        </div>
      </div>
      <table className="table">
        <caption className="sr-only">MAC allocations</caption>
        <thead>
          <tr>
            <th scope="col">MAC address</th>
            <th scope="col">State</th>
            <th scope="col">Holder</th>
            <th scope="col">Interface</th>
            <th scope="col">Pool</th>
            <th scope="col">Quarantine ends</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((a) => (
            <tr key={a.metadata.name}>
              <td className="mono">{a.spec.macAddress}</td>
              <td>
                <span
                  className={`badge ${a.status?.state === 'InUse' ? 'badge-ok' : 'badge-busy'}`}
                >
                  {a.status?.state === 'InUse' ? 'In use' : a.status?.state}
                </span>
              </td>
              <td>
                {a.spec.owner.namespace}/{a.spec.owner.name}
              </td>
              <td>{a.spec.owner.interface}</td>
              <td>{a.spec.pool || <span className="muted">outside every range</span>}</td>
              <td>{a.status?.quarantineUntil ? localTime(a.status.quarantineUntil) : '—'}</td>
            </tr>
          ))}
          {shown.length === 0 && allocations.loaded && !allocations.stale && !allocations.error ? (
            <tr>
              <td colSpan={6} className="empty">
                No allocations.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}

const n = (v: number): string => v.toLocaleString('en-US');
const plural = (v: number, one: string, many: string): string => `${n(v)} ${v === 1 ? one : many}`;

function UsageBar(props: {
  label: string;
  capacity: number;
  inUse: number;
  quarantined: number;
  thin?: boolean;
}): ReactNode {
  const { capacity, inUse, quarantined } = props;
  const w = usageWidths(capacity, inUse, quarantined);
  return (
    <div
      className={`usage${props.thin ? ' usage-thin' : ''}`}
      role="meter"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={capacity}
      aria-valuenow={inUse + quarantined}
      aria-valuetext={`${n(inUse)} in use, ${n(quarantined)} quarantined of ${n(capacity)}`}
    >
      <span className="usage-inuse" style={{ width: `${w.inUse}%`, minWidth: inUse > 0 ? 6 : 0 }} />
      <span
        className="usage-quarantined"
        style={{ width: `${w.quarantined}%`, minWidth: quarantined > 0 ? 6 : 0 }}
      />
    </div>
  );
}

/** One pool: its figures as the server's status counts them (never recounted here), per range, and its editor. */
function PoolCard(props: { pool: MacPool; onShowOutside(): void }): ReactNode {
  const p = props.pool;
  const name = p.metadata.name;
  const s = p.status;
  const behind = statusBehind(p);
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const free = s ? Math.max(0, s.capacity - s.allocated - s.quarantined) : 0;
  return (
    <article className="card pool-card" aria-labelledby={`pool-${name}`} data-pool={name}>
      <div className="pool-head">
        <h2 id={`pool-${name}`} className="card-title">
          {name}
        </h2>
        {behind ? (
          <span className="badge badge-busy" role="status" data-testid={`pool-${name}-updating`}>
            updating…
          </span>
        ) : null}
        {!editing ? (
          <button
            type="button"
            className="btn btn-small"
            aria-label={`Edit ranges of ${name}`}
            onClick={() => {
              setEditing(true);
              setSaved(false);
            }}
          >
            Edit ranges
          </button>
        ) : null}
      </div>
      {s ? (
        <>
          <UsageBar
            label={`Usage of ${name}`}
            capacity={s.capacity}
            inUse={s.allocated}
            quarantined={s.quarantined}
          />
          <p className="small" data-testid={`pool-${name}-totals`}>
            <span className="legend legend-inuse" aria-hidden="true" />
            {`${n(s.allocated)} in use · `}
            <span className="legend legend-quarantined" aria-hidden="true" />
            {`${n(s.quarantined)} quarantined · ${n(free)} free of ${n(s.capacity)} (${shareText(s.capacity, s.allocated + s.quarantined)} used)`}
          </p>
          {s.outsideRanges > 0 ? (
            <p className="outside-note" data-testid={`pool-${name}-outside`}>
              {`${plural(s.outsideRanges, 'MAC', 'MACs')} held outside every pool range (chosen in a manifest, not taken from a pool); ${s.outsideRanges === 1 ? 'it counts' : 'they count'} against no range. `}
              <button
                type="button"
                className="btn btn-small btn-ghost"
                onClick={props.onShowOutside}
              >
                Show {s.outsideRanges === 1 ? 'it' : 'them'}
              </button>
            </p>
          ) : null}
        </>
      ) : (
        <p className="muted">The pool&apos;s figures have not been counted yet.</p>
      )}
      {saved && !editing ? (
        <p className="field-note" role="status">
          Ranges saved.
        </p>
      ) : null}
      {editing ? (
        <RangesEditor
          pool={p}
          onDone={(result) => {
            setEditing(false);
            setSaved(result !== undefined);
          }}
        />
      ) : (
        <div className="table-scroll">
          <table className="table range-table" data-testid={`pool-${name}-ranges`}>
            <caption className="sr-only">Ranges of {name}</caption>
            <thead>
              <tr>
                <th scope="col">Range</th>
                <th scope="col">Capacity</th>
                <th scope="col">In use</th>
                <th scope="col">Quarantined</th>
                <th scope="col">Usage</th>
              </tr>
            </thead>
            <tbody>
              {(
                s?.ranges ??
                p.spec.ranges.map((r) => ({ ...r, capacity: 0, allocated: 0, quarantined: 0 }))
              ).map((r, i) => (
                <tr key={`${r.start}-${i}`} data-range={i}>
                  <td className="mono nowrap">
                    {r.start} – {r.end}
                  </td>
                  <td>{s ? n(r.capacity) : '—'}</td>
                  <td>{s ? n(r.allocated) : '—'}</td>
                  <td>{s ? n(r.quarantined) : '—'}</td>
                  <td className="usage-cell">
                    {s ? (
                      <UsageBar
                        label={`Range ${i + 1} of ${name}: usage`}
                        capacity={r.capacity}
                        inUse={r.allocated}
                        quarantined={r.quarantined}
                        thin
                      />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <dl className="facts compact">
        <dt>Quarantine</dt>
        <dd>
          {p.spec.quarantineSeconds !== undefined
            ? `${p.spec.quarantineSeconds} s after release`
            : 'server default'}
        </dd>
      </dl>
    </article>
  );
}

function LookupResult(props: { lookup: Lookup; namespace: string }): ReactNode {
  const l = props.lookup;
  if (l.kind === 'free') {
    return (
      <p className="lookup-result" role="status">
        <strong className="mono">{l.mac}</strong> is free
        {l.pool
          ? ` — inside pool ${l.pool}'s ranges.`
          : ' — outside every pool range (a VM may still ask for it explicitly).'}
      </p>
    );
  }
  const a = l.allocation;
  const owner = a.spec.owner;
  if (a.status?.state === 'Quarantined') {
    return (
      <p className="lookup-result" role="status">
        <strong className="mono">{a.spec.macAddress}</strong> is quarantined until{' '}
        <strong>{localTime(a.status.quarantineUntil)}</strong> — last held by {owner.namespace}/
        {owner.name} ({owner.interface})
        {a.status.releasedAt ? `, released ${localTime(a.status.releasedAt)}` : ''}.
      </p>
    );
  }
  return (
    <p className="lookup-result" role="status">
      <strong className="mono">{a.spec.macAddress}</strong> is in use by{' '}
      {owner.namespace === props.namespace ? (
        <Link
          to={urls.vm(owner.namespace, owner.name, 'networks')}
        >{`${owner.namespace}/${owner.name}`}</Link>
      ) : (
        `${owner.namespace}/${owner.name}`
      )}
      , interface {owner.interface}
      {a.spec.pool ? ` (pool ${a.spec.pool})` : ' (outside every pool range)'}.
    </p>
  );
}
