// One VM: banners for what needs the operator (restart required, drift, connectivity), and tabs Basics, Networks, Events, Audit, Console.
import { useState, type ReactNode } from 'react';
import { conditionOf, type Condition, type KubeObject } from '../../../src/resources/meta.ts';
import type {
  AuditRecord,
  KubeEvent,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../../src/resources/types.ts';
import { ApiError } from '../api/client.ts';
import { paths } from '../api/paths.ts';
import { useLiveList } from '../api/use-watch.ts';
import { ApiErrorNotice } from '../components/api-error.tsx';
import { AuditTable } from '../components/audit-table.tsx';
import { DriftBadge, PendingBadge, StateBadge } from '../components/badges.tsx';
import { Banner } from '../components/banner.tsx';
import { useConfirm } from '../components/confirm.tsx';
import { Tabs } from '../components/tabs.tsx';
import { Age, localTime } from '../components/time.tsx';
import { filterAudit, emptyAuditFilter } from '../model/audit.ts';
import {
  conditionText,
  connectivityView,
  driftConsequences,
  restartChanges,
  type ConnectivityView,
} from '../model/explain.ts';
import { launcherPodOf, nicViews, type NicView } from '../model/nics.ts';
import {
  actionsFor,
  cpuOf,
  macPatch,
  maintenanceWindowOf,
  memoryOf,
  vmState,
} from '../model/vm.ts';
import { Link, navigate } from '../router.tsx';
import { urls } from '../model/urls.ts';
import { NAMESPACE_POLL, useSession } from '../session.ts';
import { ConsoleTab } from './vm-console.tsx';
import { useVmAction, useVmData } from './vm-data.ts';
import { deleteRequest, restartRequest, stopRequest } from './vm-confirm.tsx';

const TABS = [
  { id: 'basics', label: 'Basics' },
  { id: 'networks', label: 'Networks' },
  { id: 'events', label: 'Events' },
  { id: 'audit', label: 'Audit' },
  { id: 'console', label: 'Console' },
];

export function VmDetailPage(props: { name: string; tab: string }): ReactNode {
  const { namespace, api, harrowSubresources } = useSession();
  const { vms, vmis, pods } = useVmData(namespace);
  const { run, busy } = useVmAction(namespace);
  const { dialog, confirm } = useConfirm();
  // Every restart on this page asks first, whichever button offers it (actions, banners, drift remedies).
  const confirmRestart = (): void =>
    confirm(restartRequest(props.name, () => void run(props.name, 'restart')));
  const namespaces = useLiveList<KubeObject>(api, paths.namespaces(), undefined, NAMESPACE_POLL);
  // Events and audit records are watched only while their tab is open: each watch holds one of the browser's few connections.
  const events = useLiveList<KubeEvent>(
    api,
    props.tab === 'events' ? paths.eventsOf(namespace, props.name) : null,
    (e) => e.involvedObject?.name === props.name,
  );
  const audit = useLiveList<AuditRecord>(
    api,
    props.tab === 'audit' ? paths.auditRecords(namespace) : null,
    (r) => r.spec?.resource?.name === props.name,
  );

  const vm = vms.items.find((v) => v.metadata.name === props.name);
  if (!vm) {
    return (
      <section>
        <p className="crumbs">
          <Link to={urls.vms(namespace)}>Virtual Machines</Link> /
        </p>
        <h1>{props.name}</h1>
        <ApiErrorNotice error={vms.error} />
        <p>
          {vms.loaded ? `There is no virtual machine ${props.name} in ${namespace}.` : 'Loading…'}
        </p>
      </section>
    );
  }
  const vmi = vmis.items.find((i) => i.metadata.name === props.name);
  const pod = launcherPodOf(pods.items, props.name);
  const state = vmState(vm, vmi);
  const nics = nicViews(vm, vmi, pod);
  const can = actionsFor(state);
  const nsAnnotations = namespaces.items.find((n) => n.metadata.name === namespace)?.metadata
    .annotations;
  const window = maintenanceWindowOf(vm, nsAnnotations);
  const tab = TABS.some((t) => t.id === props.tab) ? props.tab : 'basics';
  const driftCount = nics.filter((n) => n.drift).length;

  return (
    <section aria-labelledby="vm-title">
      {dialog}
      <p className="crumbs">
        <Link to={urls.vms(namespace)}>Virtual Machines</Link> / {namespace}
      </p>
      <div className="page-head">
        <h1 id="vm-title">
          {vm.metadata.name} <StateBadge state={state} />
        </h1>
        <div className="page-tools">
          <button
            type="button"
            className="btn"
            disabled={!can.start || busy.has(props.name)}
            onClick={() => void run(props.name, 'start')}
          >
            Start
          </button>
          <button
            type="button"
            className="btn"
            disabled={!can.stop || busy.has(props.name)}
            onClick={() => confirm(stopRequest(props.name, () => void run(props.name, 'stop')))}
          >
            Stop
          </button>
          <button
            type="button"
            className="btn"
            disabled={!can.restart || busy.has(props.name)}
            onClick={confirmRestart}
          >
            Restart
          </button>
          <button
            type="button"
            className="btn btn-danger-outline"
            disabled={busy.has(props.name)}
            onClick={() =>
              confirm(
                deleteRequest(
                  props.name,
                  namespace,
                  () =>
                    void run(props.name, 'delete').then(
                      (ok) => ok && navigate(urls.vms(namespace)),
                    ),
                ),
              )
            }
          >
            Delete
          </button>
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => navigate(urls.vmEdit(namespace, props.name))}
          >
            Edit config
          </button>
        </div>
      </div>

      <VmBanners
        vm={vm}
        vmi={vmi}
        nics={nics}
        window={window}
        canSchedule={harrowSubresources.has('virtualmachines/schedule-restart')}
        driftCount={driftCount}
        tab={tab}
        restartBusy={busy.has(props.name)}
        onRestart={confirmRestart}
      />

      <Tabs
        label="Virtual machine details"
        tabs={TABS.map((t) => ({
          id: t.id,
          label:
            t.id === 'networks' && driftCount > 0 ? (
              <>
                {t.label}{' '}
                <span className="dot" aria-label="(MAC drift)">
                  ●
                </span>
              </>
            ) : (
              t.label
            ),
        }))}
        selected={tab}
        onSelect={(id) => navigate(urls.vm(namespace, props.name, id), { replace: true })}
      >
        {tab === 'basics' ? (
          <BasicsTab
            vm={vm}
            vmi={vmi}
            nics={nics}
            state={state}
            node={vmi?.status?.nodeName ?? pod?.spec.nodeName}
            conditions={[
              ...(vm.status?.conditions ?? []),
              ...(vmi?.status?.conditions ?? []).map((c) => ({ ...c, type: `VMI ${c.type}` })),
            ]}
            window={window}
          />
        ) : null}
        {tab === 'networks' ? (
          <NetworksTab
            vm={vm}
            nics={nics}
            running={vmi !== undefined}
            restartBusy={busy.has(props.name)}
            onRestart={confirmRestart}
          />
        ) : null}
        {tab === 'events' ? <EventsTab events={events.items} /> : null}
        {tab === 'audit' ? (
          <AuditRecordsTab
            records={filterAudit(audit.items, emptyAuditFilter)}
            namespace={namespace}
            name={props.name}
            current={audit.loaded && !audit.stale && !audit.error}
          />
        ) : null}
        {tab === 'console' ? (
          <ConsoleTab
            namespace={namespace}
            name={props.name}
            token={api.token}
            running={vmi !== undefined && vmi.status?.phase === 'Running'}
          />
        ) : null}
      </Tabs>
    </section>
  );
}

function VmBanners(props: {
  vm: VirtualMachine;
  vmi: VirtualMachineInstance | undefined;
  nics: NicView[];
  window: string | undefined;
  canSchedule: boolean;
  driftCount: number;
  tab: string;
  restartBusy: boolean;
  onRestart(): void;
}): ReactNode {
  const conds = props.vm.status?.conditions;
  const restartRequired = conditionOf(conds, 'RestartRequired');
  const scheduled = conditionOf(conds, 'RestartScheduled');
  const connectivity = connectivityView(props.vm, conditionOf(conds, 'ConnectivityCheck'));
  const name = props.vm.metadata.name;
  const { namespace } = useSession();
  return (
    <div className="banners">
      {props.driftCount > 0 && props.tab !== 'networks' ? (
        <Banner
          tone="warning"
          title="The guest uses a MAC address the platform did not assign"
          testId="drift-banner"
          actions={
            <button
              type="button"
              className="btn"
              onClick={() => navigate(urls.vm(namespace, name, 'networks'), { replace: true })}
            >
              Show networks
            </button>
          }
        >
          {props.driftCount === 1 ? 'One NIC has' : `${props.driftCount} NICs have`} a MAC set
          inside the guest. See Networks for what it means and how to fix it.
        </Banner>
      ) : null}
      {restartRequired?.status === 'True' && scheduled?.status !== 'True' ? (
        <Banner
          tone="warning"
          title="Restart required"
          testId="restart-required-banner"
          actions={
            <>
              <button
                type="button"
                className="btn btn-primary"
                disabled={props.restartBusy}
                onClick={props.onRestart}
              >
                Restart now
              </button>
              {props.window && props.canSchedule ? (
                <ScheduleButton vm={props.vm} window={props.window} />
              ) : null}
            </>
          }
        >
          <ul className="plain-list" data-message="restart-required">
            {restartChanges(props.vm, props.vmi, props.nics).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          {!props.window ? (
            <span className="muted small">
              {' '}
              No maintenance window is set for this VM or its namespace.
            </span>
          ) : !props.canSchedule ? (
            <span className="muted small">
              {' '}
              This server does not schedule restarts in maintenance windows.
            </span>
          ) : null}
        </Banner>
      ) : null}
      {scheduled?.status === 'True' ? (
        <Banner
          tone="info"
          title="Restart scheduled in the maintenance window"
          testId="restart-scheduled-banner"
        >
          {scheduled.message ?? 'The restart runs at the start of the next maintenance window.'}
        </Banner>
      ) : null}
      {connectivity ? <ConnectivityBanner vm={props.vm} view={connectivity} /> : null}
    </div>
  );
}

/**
 * Shown only where a maintenance window applies and the server lists the schedule-restart subresource: the server
 * records the plan as the RestartScheduled condition and restarts at the window's start.
 */
function ScheduleButton(props: { vm: VirtualMachine; window: string }): ReactNode {
  const { api, notify } = useSession();
  const [busy, setBusy] = useState(false);
  const name = props.vm.metadata.name;
  const ns = props.vm.metadata.namespace ?? 'default';
  const schedule = async (): Promise<void> => {
    setBusy(true);
    try {
      await api.put(paths.scheduleRestart(ns, name), {});
      notify(`Restart of ${name} scheduled for the maintenance window.`);
    } catch (e) {
      notify(
        `Scheduling the restart failed: ${e instanceof ApiError ? e.message : String(e)}`,
        'error',
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <button
      type="button"
      className="btn"
      disabled={busy}
      onClick={() => void schedule()}
      title={`Window: ${props.window}`}
    >
      Schedule in maintenance window
    </button>
  );
}

/** The last connectivity check, once, until dismissed (the dismissal is kept for this check only, in this tab). */
function ConnectivityBanner(props: { vm: VirtualMachine; view: ConnectivityView }): ReactNode {
  const v = props.view;
  const key = `harrow.dismissed-check.${props.vm.metadata.uid ?? props.vm.metadata.name}`;
  const [dismissed, setDismissed] = useState(() => sessionStorage.getItem(key));
  if (v.passed !== undefined && dismissed === (v.at ?? '')) return null;
  const dismiss = (): void => {
    sessionStorage.setItem(key, v.at ?? '');
    setDismissed(v.at ?? '');
  };
  return (
    <Banner
      tone={v.passed === undefined ? 'info' : v.passed ? 'success' : 'error'}
      title={v.title}
      testId="connectivity-banner"
      actions={
        v.passed !== undefined ? (
          <button type="button" className="btn" onClick={dismiss}>
            Dismiss
          </button>
        ) : undefined
      }
    >
      <ul className="plain-list" data-message="connectivity">
        {v.lines.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      {v.at ? <span className="muted small">({localTime(v.at)})</span> : null}
    </Banner>
  );
}

function BasicsTab(props: {
  vm: VirtualMachine;
  vmi: VirtualMachineInstance | undefined;
  nics: NicView[];
  state: string;
  node: string | undefined;
  conditions: Condition[];
  window: string | undefined;
}): ReactNode {
  const vm = props.vm;
  return (
    <div className="tab-body">
      <dl className="facts">
        <dt>Name</dt>
        <dd>{vm.metadata.name}</dd>
        <dt>Namespace</dt>
        <dd>{vm.metadata.namespace}</dd>
        <dt>State</dt>
        <dd>{props.state}</dd>
        <dt>Node</dt>
        <dd>{props.node ?? '—'}</dd>
        <dt>Run strategy</dt>
        <dd>
          {vm.spec.runStrategy ??
            (vm.spec.running === undefined ? '—' : `running: ${String(vm.spec.running)}`)}
        </dd>
        <dt>CPU</dt>
        <dd>{cpuOf(vm) ?? 1} vCPU</dd>
        <dt>Memory</dt>
        <dd>{memoryOf(vm) ?? '—'}</dd>
        <dt>Maintenance window</dt>
        <dd className="mono">{props.window ?? 'none'}</dd>
        <dt>Created</dt>
        <dd>
          {localTime(vm.metadata.creationTimestamp)} (<Age iso={vm.metadata.creationTimestamp} />{' '}
          ago)
        </dd>
        <dt>UID</dt>
        <dd className="mono small">{vm.metadata.uid ?? '—'}</dd>
      </dl>
      <h2>Conditions</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Reason</th>
            <th scope="col">Message</th>
            <th scope="col">Since</th>
          </tr>
        </thead>
        <tbody>
          {props.conditions.map((c) => (
            <tr key={c.type}>
              <td>{c.type}</td>
              <td>{c.status}</td>
              <td>{c.reason ?? ''}</td>
              <td data-message={c.type}>{conditionText(c, vm, props.vmi, props.nics)}</td>
              <td>
                <Age iso={c.lastTransitionTime} />
              </td>
            </tr>
          ))}
          {props.conditions.length === 0 ? (
            <tr>
              <td colSpan={5} className="empty">
                No conditions reported.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

function Sourced(props: {
  value: ReactNode;
  source: string | undefined;
  testId?: string;
}): ReactNode {
  return (
    <>
      <span className="mono" data-testid={props.testId}>
        {props.value}
      </span>
      {props.source ? <span className="source">from {props.source}</span> : null}
    </>
  );
}

function NetworksTab(props: {
  vm: VirtualMachine;
  nics: NicView[];
  running: boolean;
  restartBusy: boolean;
  onRestart(): void;
}): ReactNode {
  return (
    <div className="tab-body nic-cards">
      <p className="muted">
        The MAC a NIC has on the platform is the one its launcher pod's interface got (the pod's
        network-status), as in Harvester. Harrow also shows what the guest itself uses and where
        each figure comes from.
      </p>
      {props.nics.map((n) => (
        <NicCard
          key={n.name}
          vm={props.vm}
          nic={n}
          running={props.running}
          restartBusy={props.restartBusy}
          onRestart={props.onRestart}
        />
      ))}
    </div>
  );
}

function NicCard(props: {
  vm: VirtualMachine;
  nic: NicView;
  running: boolean;
  restartBusy: boolean;
  onRestart(): void;
}): ReactNode {
  const n = props.nic;
  const titleId = `nic-${n.name}-title`;
  return (
    <article
      className={`card nic-card${n.drift ? ' card-warn' : ''}`}
      aria-labelledby={titleId}
      data-nic={n.name}
    >
      <h2 id={titleId} className="card-title">
        {n.name}{' '}
        <span className="muted small">
          · {n.network} · {n.binding}
          {n.model ? ` · ${n.model}` : ''}
        </span>{' '}
        {n.drift ? <DriftBadge nic={n.name} guestMac={n.guestMac} /> : null}
        {n.pendingRestart && n.specMac ? <PendingBadge mac={n.specMac} /> : null}
      </h2>
      <dl className="facts">
        <dt>Platform MAC</dt>
        <dd>
          <Sourced
            value={
              n.platformMac ?? (props.running ? 'not reported yet' : 'assigned when the VM starts')
            }
            source={n.platformSource}
            testId={`platform-mac-${n.name}`}
          />
        </dd>
        <dt>Guest MAC</dt>
        <dd>
          <Sourced
            value={
              n.guestMac
                ? `${n.guestMac}${n.guestInterfaceName ? ` (${n.guestInterfaceName})` : ''}`
                : props.running
                  ? 'not reported by the guest'
                  : '—'
            }
            source={n.guestSource}
            testId={`guest-mac-${n.name}`}
          />
        </dd>
        <dt>MAC in manifest</dt>
        <dd>
          <Sourced
            value={n.specMac ?? 'none (assigned by the pool)'}
            source="spec.template.spec.domain.devices.interfaces"
            testId={`spec-mac-${n.name}`}
          />
        </dd>
        <dt>IP addresses</dt>
        <dd>
          <Sourced
            value={n.ips.length > 0 ? n.ips.join(', ') : '—'}
            source={n.ipSource}
            testId={`ips-${n.name}`}
          />
        </dd>
        <dt>Status</dt>
        <dd>
          {n.drift ? (
            <span className="bad-text">Guest and platform disagree</span>
          ) : n.pendingRestart ? (
            <span className="busy-text">New MAC {n.specMac} applies on restart</span>
          ) : n.guestMac ? (
            <span className="ok-text">In sync</span>
          ) : (
            <span className="muted">—</span>
          )}
        </dd>
      </dl>
      {n.drift ? (
        <DriftExplanation
          vm={props.vm}
          nic={n}
          restartBusy={props.restartBusy}
          onRestart={props.onRestart}
        />
      ) : null}
    </article>
  );
}

function DriftExplanation(props: {
  vm: VirtualMachine;
  nic: NicView;
  restartBusy: boolean;
  onRestart(): void;
}): ReactNode {
  const { api, notify } = useSession();
  const [error, setError] = useState<ApiError>();
  const [adopting, setAdopting] = useState(false);
  const n = props.nic;
  const guest = n.guestMac ?? 'another address';
  const platform = n.platformMac ?? 'the assigned address';
  const name = props.vm.metadata.name;
  const adopted = n.guestMac !== undefined && n.specMac === n.guestMac;
  // The remedies the observer's record offers (both when only KubeVirt's status shape is there).
  const adoptRemedy = n.mismatch?.remedies.find((r) => r.action === 'adopt-guest-mac');
  const adoptable = adoptRemedy === undefined || adoptRemedy.available;
  const heldBy = n.mismatch?.heldBy;
  const consequences = driftConsequences(n);
  const restoreRemedy = n.mismatch?.remedies.find((r) => r.action === 'restore-mac');
  const restorable = consequences.restartRestores && (restoreRemedy?.available ?? true);
  const adopt = async (): Promise<void> => {
    if (!n.guestMac) return;
    setAdopting(true);
    setError(undefined);
    try {
      await api.patch(
        paths.vm(props.vm.metadata.namespace ?? 'default', name),
        macPatch(props.vm, new Map([[n.index, n.guestMac]])),
        'merge',
      );
      notify(`${n.guestMac} is now ${n.name}'s MAC in the manifest; it applies on restart.`);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'NetworkError', String(e)));
    } finally {
      setAdopting(false);
    }
  };
  return (
    <div className="explain" role="group" aria-label={`What the MAC drift on ${n.name} means`}>
      <h3>What this means</h3>
      <p>
        Inside the guest, {n.guestInterfaceName ?? 'this NIC'} now uses{' '}
        <strong className="mono">{guest}</strong>, but the platform gave this NIC{' '}
        <strong className="mono">{platform}</strong> (the pod interface).
      </p>
      <ul data-message="drift">
        {consequences.lines.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      {n.mismatch ? (
        <p className="muted small" data-message="drift">
          Seen since {localTime(n.mismatch.since)}.
          {heldBy?.namespace === 'same'
            ? ` ${guest} is allocated to VM ${heldBy.name} (interface ${heldBy.interface}): the two clash on the network, and adopting it is refused while that VM holds it.`
            : heldBy
              ? ` ${guest} is allocated to a VM in another namespace: the two clash on the network, and adopting it is refused while that VM holds it.`
              : ''}
        </p>
      ) : null}
      <h3>Remedies</h3>
      <div className="remedies">
        {restorable ? (
          <div>
            <button
              type="button"
              className="btn btn-primary"
              disabled={props.restartBusy}
              onClick={props.onRestart}
            >
              Restart to restore {platform}
            </button>
            <p className="small muted">
              Keeps the platform's address; the guest's change is discarded.
            </p>
          </div>
        ) : (
          <div>
            <p className="small" data-message="drift">
              A restart would not help: change the guest's own network configuration back to{' '}
              {platform}, or adopt {guest}.
            </p>
          </div>
        )}
        <div>
          <button
            type="button"
            className="btn"
            disabled={adopting || adopted || !adoptable || n.guestMac === undefined}
            onClick={() => void adopt()}
          >
            {adopted ? `${guest} adopted — restart to apply` : `Adopt ${guest} in the manifest`}
          </button>
          <p className="small muted">
            Validated and reserved like any MAC you set; the platform gives it to the NIC on
            restart.
          </p>
        </div>
      </div>
      <ApiErrorNotice error={error} what="Adopting the guest's MAC" />
    </div>
  );
}

function EventsTab(props: { events: KubeEvent[] }): ReactNode {
  const sorted = [...props.events].sort((a, b) =>
    (b.lastTimestamp ?? b.metadata.creationTimestamp ?? '').localeCompare(
      a.lastTimestamp ?? a.metadata.creationTimestamp ?? '',
    ),
  );
  return (
    <div className="tab-body">
      <table className="table">
        <caption className="sr-only">Events</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Reason</th>
            <th scope="col">Object</th>
            <th scope="col">Message</th>
            <th scope="col">Count</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((e) => (
            <tr key={e.metadata.name} className={e.type === 'Warning' ? 'row-warn' : undefined}>
              <td>{e.type}</td>
              <td>{e.reason}</td>
              <td>{e.involvedObject.kind}</td>
              <td>{e.message}</td>
              <td>{e.count ?? 1}</td>
              <td>
                <Age iso={e.lastTimestamp ?? e.metadata.creationTimestamp} />
              </td>
            </tr>
          ))}
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={6} className="empty">
                No events.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

function AuditRecordsTab(props: {
  records: AuditRecord[];
  namespace: string;
  name: string;
  current: boolean;
}): ReactNode {
  return (
    <div className="tab-body">
      <AuditTable
        records={props.records}
        caption={`Audit records of ${props.name}`}
        showResource={false}
        current={props.current}
      />
      <p>
        <Link to={urls.audit(props.namespace, props.name)}>Open in the audit log</Link>
      </p>
    </div>
  );
}
