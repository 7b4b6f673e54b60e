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
import { checkMac, macInRange, rangeSize } from '../model/mac-field.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.ts';

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
  const [stateFilter, setStateFilter] = useState<'all' | 'InUse' | 'Quarantined'>('all');

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

  const shown = allocations.items
    .filter((a) => stateFilter === 'all' || a.status?.state === stateFilter)
    .sort((a, b) => a.spec.macAddress.localeCompare(b.spec.macAddress));

  return (
    <section aria-labelledby="pool-title">
      <h1 id="pool-title">MAC Pool</h1>
      <ApiErrorNotice error={pools.error} what="Listing MAC pools" />
      <div className="pool-grid">
        {pools.items.map((p) => {
          const capacity =
            p.status?.capacity ?? p.spec.ranges.reduce((n, r) => n + rangeSize(r), 0);
          const mine = allocations.items.filter((a) => a.spec.pool === p.metadata.name);
          const inUse =
            p.status?.allocated ?? mine.filter((a) => a.status?.state === 'InUse').length;
          const quarantined =
            p.status?.quarantined ?? mine.filter((a) => a.status?.state === 'Quarantined').length;
          const pct = (n: number): number => (capacity > 0 ? (100 * n) / capacity : 0);
          return (
            <article
              key={p.metadata.name}
              className="card"
              aria-labelledby={`pool-${p.metadata.name}`}
            >
              <h2 id={`pool-${p.metadata.name}`} className="card-title">
                {p.metadata.name}
              </h2>
              <dl className="facts compact">
                <dt>Ranges</dt>
                <dd className="mono">
                  {p.spec.ranges.map((r) => (
                    <div key={r.start}>
                      {r.start} – {r.end}
                    </div>
                  ))}
                </dd>
                <dt>Quarantine</dt>
                <dd>
                  {p.spec.quarantineSeconds !== undefined
                    ? `${p.spec.quarantineSeconds} s after release`
                    : 'server default'}
                </dd>
              </dl>
              <div
                className="usage"
                role="meter"
                aria-label={`Usage of ${p.metadata.name}`}
                aria-valuemin={0}
                aria-valuemax={capacity}
                aria-valuenow={inUse + quarantined}
                aria-valuetext={`${inUse} in use, ${quarantined} quarantined of ${capacity}`}
              >
                <span
                  className="usage-inuse"
                  style={{ width: `${Math.max(pct(inUse), inUse > 0 ? 0.5 : 0)}%` }}
                />
                <span
                  className="usage-quarantined"
                  style={{ width: `${Math.max(pct(quarantined), quarantined > 0 ? 0.5 : 0)}%` }}
                />
              </div>
              <p className="small">
                <span className="legend legend-inuse" aria-hidden="true" /> {inUse.toLocaleString()}{' '}
                in use · <span className="legend legend-quarantined" aria-hidden="true" />{' '}
                {quarantined.toLocaleString()} quarantined ·{' '}
                {(capacity - inUse - quarantined).toLocaleString()} free of{' '}
                {capacity.toLocaleString()}
              </p>
            </article>
          );
        })}
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
            onChange={(e) => setStateFilter(e.target.value as 'all' | 'InUse' | 'Quarantined')}
          >
            <option value="all">All</option>
            <option value="InUse">In use</option>
            <option value="Quarantined">Quarantined</option>
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
          {allocations.loaded && shown.length === 0 ? (
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
          to={`/vms/${encodeURIComponent(owner.name)}/networks`}
        >{`${owner.namespace}/${owner.name}`}</Link>
      ) : (
        `${owner.namespace}/${owner.name}`
      )}
      , interface {owner.interface}
      {a.spec.pool ? ` (pool ${a.spec.pool})` : ' (outside every pool range)'}.
    </p>
  );
}
