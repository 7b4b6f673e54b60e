// The network plugin (Multus role): creates each launcher pod's interfaces with the MACs its annotation asks for (filling
// missing ones through the MacAssigner), writes network-status, tears pods down when they go, and removes networks
// whose NAD is gone and unused.
import { NotFound } from '../resources/errors.ts';
import { refOf, removeCondition, setCondition } from '../resources/meta.ts';
import { POD_NETWORK, networkIdOf } from '../resources/nad.ts';
import {
  ANNOTATION_NETWORKS,
  ANNOTATION_NETWORK_STATUS,
  LABEL_CREATED_BY,
  type NetworkAttachmentDefinition,
  type NetworkStatusEntry,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import type { NetworkSpec, PodInterfaceRequest } from '../runtime/types.ts';
import { bindingOf } from '../resources/virtualmachine.ts';
import { recordAudit } from './audit.ts';
import {
  INDEX_NAD,
  INDEX_UID,
  nadKeysOfPod,
  vmKeyOfPod,
  type ControllerContext,
} from './context.ts';
import { eventRecorder } from './events.ts';
import {
  Tombstones,
  changed,
  objectKey,
  refFor,
  splitKey,
  type Controller,
  type Result,
} from './framework.ts';
import {
  interfacePlans,
  networkSelectionElements,
  podNetworkRequest,
} from '../network/interface-plans.ts';
import { fixedAddressesOf } from '../network/fixed-address.ts';
import { assignedMac } from '../network/mac-precedence.ts';
import {
  ANNOTATION_POD_NETWORK,
  formatNetworkStatus,
  networkStatusOf,
  podNetworkOf,
  podNetworkSelections,
} from '../network/multus.ts';
import { networkStatusName, resolveNad } from './nad-resolver.ts';
import { updateWithRetry } from './optimistic-update.ts';

const NAD_RETRY_MS = 10_000;

/** KubeVirt's VMI condition for "the VMI could not be brought to its spec"; here: its pod's network failed. */
export const CONDITION_SYNCHRONIZED = 'Synchronized';
/** Reasons of that condition and of the Warning Event that goes with it. */
export const REASON_MAC_ASSIGNMENT = 'FailedMacAssignment';
export const REASON_NO_NETWORK = 'NoNetworkFound';
export const REASON_POD_NETWORK = 'FailedCreatePodSandBox';

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export interface NetworkControllers {
  pods: Controller;
  networks: Controller;
}

export function networkControllers(ctx: ControllerContext): NetworkControllers {
  const { store, runtime, informers } = ctx;
  const log = ctx.logger.child({ controller: 'network' });
  const event = eventRecorder(store, log, { component: 'harrow-network', host: ctx.nodeName });
  const deletedPods = new Tombstones<Pod>();
  const deletedNads = new Tombstones<NetworkAttachmentDefinition>();
  // Deleted pods not yet torn down, by VM key: a VM's new pod waits for them.
  const deletedByVm = new Map<string, Set<string>>();
  // Teardowns under way, by pod uid, so a new pod of the same VM waits for the old one's interfaces to be gone.
  const teardowns = new Map<string, Promise<void>>();

  const pods = ctx.manager.controller({
    name: 'network',
    reconcile: reconcilePod,
    concurrency: ctx.concurrency,
    onStart: removeOrphanPods,
  });
  const networks = ctx.manager.controller({
    name: 'network-gc',
    reconcile: reconcileNad,
    concurrency: 1,
    onStart: removeOrphanNetworks,
  });

  informers.pods.onEvent((e) => {
    if (e.type === 'DELETED') {
      deletedPods.add(e.object);
      const vmKey = vmKeyOfPod(e.object);
      if (vmKey) {
        let keys = deletedByVm.get(vmKey);
        if (!keys) deletedByVm.set(vmKey, (keys = new Set()));
        keys.add(objectKey(e.object));
      }
      for (const k of nadKeysOfPod(e.object)) networks.enqueue(k);
    }
    // The request annotations are the input; the plugin's own network-status write needs no second look.
    const input = (p: Pod): string =>
      `${p.metadata.annotations?.[ANNOTATION_NETWORKS] ?? ''}|${p.metadata.annotations?.[ANNOTATION_POD_NETWORK] ?? ''}`;
    if (changed(e, input)) pods.enqueue(objectKey(e.object));
  });
  informers.nads.onEvent((e) => {
    const key = objectKey(e.object);
    if (e.type === 'DELETED') {
      deletedNads.add(e.object);
      networks.enqueue(key);
    } else {
      // Pods that waited for this NAD.
      for (const p of informers.pods.byIndex(INDEX_NAD, key))
        if (!networkStatusOf(p)) pods.enqueue(objectKey(p));
    }
  });
  return { pods, networks };

  function teardown(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    let p = teardowns.get(uid);
    if (!p) {
      p = (async () => {
        // The guest goes first: its NIC sits on the pod's interfaces.
        const vmiUid = pod.metadata.labels?.[LABEL_CREATED_BY];
        if (vmiUid) await runtime.stopGuest(vmiUid);
        await runtime.teardownPod(uid);
        log.info(
          { namespace: pod.metadata.namespace, pod: pod.metadata.name, podUid: uid },
          'pod network torn down',
        );
      })().finally(() => teardowns.delete(uid));
      teardowns.set(uid, p);
    }
    return p;
  }

  async function tearDownDeleted(key: string): Promise<void> {
    for (const gone of deletedPods.get(key)) {
      await teardown(gone);
      deletedPods.done(key, gone.metadata.uid);
    }
    if (deletedPods.get(key).length > 0) return;
    for (const [vmKey, keys] of deletedByVm) {
      if (keys.delete(key) && keys.size === 0) deletedByVm.delete(vmKey);
    }
  }

  async function reconcilePod(key: string): Promise<Result> {
    await tearDownDeleted(key);
    const ref = refFor('Pod', key);
    const pod = (await store.get(ref)) as Pod | undefined;
    if (!pod) return {};
    if (networkStatusOf(pod)) {
      if (pod.status?.phase === undefined || pod.status.phase === 'Pending')
        await setRunning(pod, undefined);
      return {};
    }
    // A new pod of a VM waits until the pods it replaces have given up their interfaces (same MACs, same networks).
    const vmKey = vmKeyOfPod(pod);
    for (const goneKey of [...(vmKey ? (deletedByVm.get(vmKey) ?? []) : [])])
      await tearDownDeleted(goneKey);
    const vmi = await vmiOf(pod);
    if (!vmi) return {}; // an orphan: the vmi controller deletes it
    if (podRequestMissesMac(pod)) {
      let filled: { pod: Pod; vmi: VirtualMachineInstance } | undefined;
      try {
        filled = await assignMissingMacs(pod, vmi);
      } catch (e) {
        await reportFailure(
          vmi,
          REASON_MAC_ASSIGNMENT,
          `no MAC could be assigned to the launcher pod ${pod.metadata.name}: ${messageOf(e)}`,
        );
        throw e;
      }
      if (!filled) return {};
      return await setup(filled.pod, filled.vmi);
    }
    return await setup(pod, vmi);
  }

  /**
   * The pod cannot get its network: say so where the user looks — a Synchronized=False condition on the VMI (the VM
   * controller mirrors it as the VM's Failure condition) and a Warning Event on the VMI — once per distinct message.
   */
  async function reportFailure(
    vmi: VirtualMachineInstance,
    reason: string,
    message: string,
  ): Promise<void> {
    const nowIso = new Date(ctx.now()).toISOString();
    const written = await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) =>
        setCondition(
          ((o.status ??= {}).conditions ??= []),
          { type: CONDITION_SYNCHRONIZED, status: 'False', reason, message },
          nowIso,
        ),
      { expectUid: vmi.metadata.uid ?? '' },
    );
    const before = vmi.status?.conditions?.find((c) => c.type === CONDITION_SYNCHRONIZED);
    if (written && (before?.reason !== reason || before.message !== message))
      await event(written, 'Warning', reason, message);
    log.warn({ namespace: vmi.metadata.namespace, vmi: vmi.metadata.name, reason }, message);
  }

  /** The pod got its network: a failure reported before is over. */
  async function clearFailure(vmi: VirtualMachineInstance): Promise<void> {
    if (!vmi.status?.conditions?.some((c) => c.type === CONDITION_SYNCHRONIZED)) return;
    await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) => removeCondition(o.status?.conditions ?? [], CONDITION_SYNCHRONIZED),
      { expectUid: vmi.metadata.uid ?? '' },
    );
  }

  async function vmiOf(pod: Pod): Promise<VirtualMachineInstance | undefined> {
    const owner = pod.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachineInstance');
    if (!owner) return undefined;
    const vmi = (await store.get({
      kind: 'VirtualMachineInstance',
      namespace: pod.metadata.namespace ?? 'default',
      name: owner.name,
    })) as VirtualMachineInstance | undefined;
    return vmi && vmi.metadata.uid === pod.metadata.labels?.[LABEL_CREATED_BY] ? vmi : undefined;
  }

  function podRequestMissesMac(pod: Pod): boolean {
    const podNet = podNetworkOf(pod);
    return podNetworkSelections(pod).some((e) => !e.mac) || (podNet !== undefined && !podNet.mac);
  }

  /**
   * Pool admission is off in this namespace, so the pod asks for interfaces without a MAC: assign them now, persist them
   * into the VM (through the MacAssigner) and the VMI spec, then into the pod's request (as Harvester does).
   */
  async function assignMissingMacs(
    pod: Pod,
    vmi: VirtualMachineInstance,
  ): Promise<{ pod: Pod; vmi: VirtualMachineInstance } | undefined> {
    const namespace = pod.metadata.namespace ?? 'default';
    const vmName = vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine')?.name;
    let macs = new Map<string, string>();
    if (vmName) {
      const vm = (await store.get({ kind: 'VirtualMachine', namespace, name: vmName })) as
        VirtualMachine | undefined;
      if (!vm) return undefined;
      const assigned = await ctx.macAssigner.assignMissing(vm);
      macs = new Map(
        (assigned.spec.template.spec.domain?.devices?.interfaces ?? [])
          .filter((i) => i.macAddress)
          .map((i) => [i.name, i.macAddress as string]),
      );
    }
    let updatedVmi = await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) => {
        let changed = false;
        for (const iface of o.spec.domain?.devices?.interfaces ?? []) {
          const mac = macs.get(iface.name);
          if (!iface.macAddress && mac) {
            iface.macAddress = mac;
            changed = true;
          }
        }
        return changed;
      },
      { expectUid: vmi.metadata.uid ?? '' },
    );
    if (!updatedVmi) return undefined;
    // Interfaces only the VMI has (a bare VMI's, the default pod interface of a VM's instance) get theirs on the VMI.
    if (interfacePlans(updatedVmi.spec, namespace).some((p) => !p.iface.macAddress))
      updatedVmi = await ctx.macAssigner.assignInstance(updatedVmi);
    const stillMissing = interfacePlans(updatedVmi.spec, namespace)
      .filter((p) => !p.iface.macAddress)
      .map((p) => p.iface.name);
    if (stillMissing.length > 0) {
      throw new NotFound(
        `no MAC could be assigned to interface(s) ${stillMissing.join(', ')} of VMI ${namespace}/${vmi.metadata.name}`,
      );
    }
    const updatedPod = await updateWithRetry<Pod>(
      store,
      refOf(pod),
      (p) => {
        const annotations = (p.metadata.annotations ??= {});
        const elements = networkSelectionElements(updatedVmi.spec, namespace);
        const podNet = podNetworkRequest(updatedVmi.spec, namespace);
        if (elements.length > 0) annotations[ANNOTATION_NETWORKS] = JSON.stringify(elements);
        if (podNet) annotations[ANNOTATION_POD_NETWORK] = JSON.stringify(podNet);
        return true;
      },
      { expectUid: pod.metadata.uid ?? '' },
    );
    if (!updatedPod) return undefined;
    log.info(
      { namespace, pod: pod.metadata.name, vm: vmName },
      'assigned missing MACs at pod creation',
    );
    return { pod: updatedPod, vmi: updatedVmi };
  }

  async function setup(pod: Pod, vmi: VirtualMachineInstance): Promise<Result> {
    const namespace = pod.metadata.namespace ?? 'default';
    const requested = new Map(podNetworkSelections(pod).map((e) => [e.interface ?? '', e]));
    const podNet = podNetworkOf(pod);
    const interfaces: PodInterfaceRequest[] = [];
    const specs = new Map<string, NetworkSpec>();
    // Admission checked them against their networks and made them the VM's (or bare VMI's) alone.
    const fixed = fixedAddressesOf(vmi.metadata.annotations);
    for (const plan of interfacePlans(vmi.spec, namespace)) {
      let network: NetworkSpec;
      let mac: string | undefined;
      if (plan.network.pod !== undefined) {
        network = POD_NETWORK;
        mac = assignedMac({ spec: plan.iface.macAddress, podRequest: podNet?.mac });
      } else {
        const element = requested.get(plan.podInterfaceName);
        const nad = element
          ? { namespace: element.namespace ?? namespace, name: element.name }
          : plan.nad;
        if (!nad) continue;
        try {
          network = await resolveNad(store, nad);
        } catch (e) {
          if (!(e instanceof NotFound)) throw e;
          const message = `cannot find a network-attachment-definition (${nad.name}) in namespace (${nad.namespace}): ${e.message}`;
          await event(pod, 'Warning', REASON_NO_NETWORK, message);
          await reportFailure(vmi, REASON_NO_NETWORK, `interface ${plan.iface.name}: ${message}`);
          return { requeueAfter: NAD_RETRY_MS };
        }
        mac = assignedMac({ spec: plan.iface.macAddress, podRequest: element?.mac });
      }
      if (!mac) {
        const message = `interface ${plan.iface.name}: the pod asks for no MAC`;
        await reportFailure(vmi, REASON_MAC_ASSIGNMENT, message);
        throw new NotFound(message);
      }
      specs.set(network.id, network);
      interfaces.push({
        name: plan.iface.name,
        network,
        podInterfaceName: plan.podInterfaceName,
        mac,
        binding: bindingOf(plan.iface),
        ...(fixed.has(plan.iface.name) && network.id !== POD_NETWORK.id
          ? { ipAddress: fixed.get(plan.iface.name) as string }
          : {}),
      });
    }
    let created: Awaited<ReturnType<typeof runtime.setupPod>>;
    try {
      for (const network of specs.values()) await runtime.ensureNetwork(network);
      created = await runtime.setupPod({
        podUid: pod.metadata.uid ?? '',
        namespace,
        podName: pod.metadata.name,
        interfaces,
      });
    } catch (e) {
      await reportFailure(
        vmi,
        REASON_POD_NETWORK,
        `the network of launcher pod ${pod.metadata.name} could not be set up: ${messageOf(e)}`,
      );
      throw e;
    }
    const byName = new Map(interfaces.map((i) => [i.name, i]));
    const status: NetworkStatusEntry[] = created.map((s) => {
      const req = byName.get(s.name);
      const isPod = req?.network.id === POD_NETWORK.id;
      return {
        name: req ? networkStatusName(req.network) : s.networkName,
        interface: s.podInterfaceName,
        mac: s.mac.toLowerCase(),
        ...(s.ips && s.ips.length > 0 ? { ips: s.ips } : {}),
        ...(isPod ? { default: true } : {}),
        dns: {},
      };
    });
    const written = await setRunning(pod, status);
    if (!written) return {};
    await clearFailure(vmi);
    await recordAudit(store, log, {
      user: ctx.auditUser,
      verb: 'pod-network-created',
      resource: { kind: 'Pod', namespace, name: pod.metadata.name },
      changes: created.map((s) => ({
        field: `interfaces[${s.name}].mac`,
        new: s.mac.toLowerCase(),
      })),
      outcome: {
        code: 201,
        message: `pod interfaces created for VMI ${namespace}/${vmi.metadata.name}: ${created.map((s) => `${s.podInterfaceName}=${s.mac.toLowerCase()} (${s.networkName})`).join(', ')}`,
      },
    });
    await event(
      pod,
      'Normal',
      'AddedInterface',
      created
        .map(
          (s) =>
            `Add ${s.podInterfaceName} ${JSON.stringify(s.ips ?? [])} from ${byName.get(s.name) ? networkStatusName((byName.get(s.name) as PodInterfaceRequest).network) : s.networkName}`,
        )
        .join('; '),
    );
    return {};
  }

  /** Writes network-status (when given) and phase Running; `pod` is a copy the caller gives away. */
  async function setRunning(
    pod: Pod,
    status: NetworkStatusEntry[] | undefined,
  ): Promise<Pod | undefined> {
    return updateWithRetry<Pod>(
      store,
      refOf(pod),
      (p) => {
        if (status)
          (p.metadata.annotations ??= {})[ANNOTATION_NETWORK_STATUS] = formatNetworkStatus(status);
        const podIp = (status ?? networkStatusOf(p) ?? []).find((s) => s.default)?.ips?.[0];
        p.status = { ...(p.status ?? {}), phase: 'Running', ...(podIp ? { podIP: podIp } : {}) };
        return true;
      },
      { expectUid: pod.metadata.uid ?? '', current: pod },
    );
  }

  /** A deleted NAD's network goes once no pod asks for it any more. */
  async function reconcileNad(key: string): Promise<Result> {
    const gone = deletedNads.get(key);
    if (gone.length === 0) return {};
    const { namespace, name } = splitKey(key);
    const nad = await store.get({
      kind: 'NetworkAttachmentDefinition',
      namespace: namespace ?? 'default',
      name,
    });
    const users = informers.pods.byIndex(INDEX_NAD, key);
    if (users.length > 0) return {}; // the last user's deletion enqueues this key again
    for (const old of gone) {
      const id = networkIdOf(old);
      if (nad && nad.metadata.uid === old.metadata.uid) continue;
      await runtime.removeNetwork(id);
      log.info({ nad: key, network: id }, 'network removed: its NAD is gone and no pod uses it');
      deletedNads.done(key, old.metadata.uid);
    }
    return {};
  }

  /** After a restart of Harrow: runtime pods whose Pod is gone are torn down. */
  async function removeOrphanPods(): Promise<void> {
    const inventory = await runtime.inventory();
    for (const podUid of inventory.pods) {
      if (informers.pods.byIndex(INDEX_UID, podUid).length > 0) continue;
      await runtime.teardownPod(podUid);
      log.info({ podUid }, 'orphan pod network torn down');
    }
  }

  /** After a restart of Harrow: runtime networks whose NAD is gone (and not the pod network) are removed. */
  async function removeOrphanNetworks(): Promise<void> {
    const inventory = await runtime.inventory();
    const live = new Set<string>([POD_NETWORK.id]);
    // A pod still asking for a NAD that is gone may be using one of these networks: keep them until it goes.
    for (const pod of informers.pods.values()) {
      for (const k of nadKeysOfPod(pod)) {
        if (!informers.nads.get(k)) {
          log.warn(
            { nad: k, pod: objectKey(pod) },
            'a pod uses a NAD that is gone: orphan networks kept for now',
          );
          return;
        }
      }
    }
    for (const nad of informers.nads.values()) {
      try {
        live.add(networkIdOf(nad));
      } catch {
        // a NAD without uid cannot have a network
      }
    }
    for (const id of inventory.networks) {
      if (live.has(id)) continue;
      await runtime.removeNetwork(id);
      log.info({ network: id }, 'orphan network removed');
    }
  }
}
