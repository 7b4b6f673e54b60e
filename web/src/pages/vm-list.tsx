// Virtual machines of the namespace: state, node, IPs, every NIC's MAC with a drift badge, and lifecycle actions.
import { useState, type ReactNode } from 'react';
import { DriftBadge, PendingBadge, StateBadge } from '../components/badges.tsx';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { Age } from '../components/time.tsx';
import { launcherPodOf, nicViews } from '../model/nics.ts';
import { actionsFor, cpuOf, memoryOf, vmState } from '../model/vm.ts';
import { Link, navigate } from '../router.tsx';
import { urls } from '../model/urls.ts';
import { isEmpty } from '../api/use-watch.ts';
import { useSession } from '../session.ts';
import { useVmAction, useVmData } from './vm-data.ts';

export function VmListPage(): ReactNode {
  const { namespace } = useSession();
  const { vms, vmis, pods } = useVmData(namespace);
  const { run, busy } = useVmAction(namespace);
  const [filter, setFilter] = useState('');

  const rows = vms.items
    .filter((vm) => vm.metadata.name.includes(filter.trim()))
    .map((vm) => {
      const vmi = vmis.items.find((i) => i.metadata.name === vm.metadata.name);
      const pod = launcherPodOf(pods.items, vm.metadata.name);
      const state = vmState(vm, vmi);
      return { vm, vmi, pod, state, nics: nicViews(vm, vmi, pod) };
    });

  return (
    <section aria-labelledby="vms-title">
      <div className="page-head">
        <h1 id="vms-title">Virtual Machines</h1>
        <div className="page-tools">
          <label className="sr-only" htmlFor="vm-filter">
            Filter by name
          </label>
          <input
            id="vm-filter"
            type="search"
            placeholder="Filter by name"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => navigate(urls.vmCreate(namespace))}
          >
            Create
          </button>
        </div>
      </div>
      <ApiErrorNotice error={vms.error} what="Listing virtual machines" />
      <table className="table">
        <caption className="sr-only">Virtual machines in namespace {namespace}</caption>
        <thead>
          <tr>
            <th scope="col">State</th>
            <th scope="col">Name</th>
            <th scope="col">CPU / Memory</th>
            <th scope="col">Node</th>
            <th scope="col">IP addresses</th>
            <th scope="col">NICs and MAC addresses</th>
            <th scope="col">Age</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ vm, vmi, pod, state, nics }) => {
            const name = vm.metadata.name;
            const can = actionsFor(state);
            const node = vmi?.status?.nodeName ?? pod?.spec.nodeName;
            const ips = nics.flatMap((n) => n.ips);
            return (
              <tr key={name} data-vm={name}>
                <td>
                  <StateBadge state={state} />
                </td>
                <td>
                  <Link to={urls.vm(namespace, name)}>{name}</Link>
                </td>
                <td className="nowrap">
                  {cpuOf(vm) ?? 1} vCPU · {memoryOf(vm) ?? '—'}
                </td>
                <td>{node ?? '—'}</td>
                <td className="mono">
                  {ips.length > 0 ? ips.map((ip) => <div key={ip}>{ip}</div>) : '—'}
                </td>
                <td>
                  <ul className="nic-list">
                    {nics.map((n) => (
                      <li key={n.name} data-nic={n.name}>
                        <span className="nic-name">{n.name}</span>{' '}
                        <span className="mono" data-testid={`mac-${name}-${n.name}`}>
                          {n.platformMac ?? n.specMac ?? 'pending'}
                        </span>{' '}
                        <span className="muted small">({n.network})</span>
                        {n.drift ? (
                          <>
                            {' '}
                            <DriftBadge nic={n.name} guestMac={n.guestMac} />
                          </>
                        ) : null}
                        {n.pendingRestart && n.specMac ? (
                          <>
                            {' '}
                            <PendingBadge mac={n.specMac} />
                          </>
                        ) : null}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <Age iso={vm.metadata.creationTimestamp} />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={!can.start || busy !== undefined}
                    onClick={() => void run(name, 'start')}
                    aria-label={`Start ${name}`}
                  >
                    Start
                  </button>
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={!can.stop || busy !== undefined}
                    onClick={() => void run(name, 'stop')}
                    aria-label={`Stop ${name}`}
                  >
                    Stop
                  </button>
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={!can.restart || busy !== undefined}
                    onClick={() => void run(name, 'restart')}
                    aria-label={`Restart ${name}`}
                  >
                    Restart
                  </button>
                </td>
              </tr>
            );
          })}
          {rows.length === 0 && (filter ? vms.loaded : isEmpty(vms)) ? (
            <tr>
              <td colSpan={8} className="empty">
                {filter
                  ? 'No virtual machine matches the filter.'
                  : `No virtual machines in ${namespace} yet.`}
              </td>
            </tr>
          ) : null}
          {!vms.loaded ? (
            <tr>
              <td colSpan={8} className="empty">
                {vms.stale || vms.error
                  ? 'Not loaded: the server did not answer the list.'
                  : 'Loading…'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}
