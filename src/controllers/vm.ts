// The vm controller (virt-controller role): VirtualMachine → VirtualMachineInstance by the run-strategy policy
// (run-strategy.ts), and the VM's status (vm-status.ts). The VMI's launcher Pod is the vmi controller's (vmi.ts).
import { fixedAddressAnnotations } from '../network/fixed-address.ts';
import { attachDefaultPodInterface } from '../resources/pod-interface-default.ts';
import { refOf } from '../resources/meta.ts';
import {
  LABEL_VM_NAME,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import { mismatchesOf } from '../network/drift.ts';
import { recordAudit } from './audit.ts';
import { INDEX_VM, vmKeyOfPod, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { changed, objectKey, refFor, type Controller, type Result } from './framework.ts';
import { deleteIfExists } from './optimistic-update.ts';
import { decide, ownerVmOf } from './run-strategy.ts';
import { computeVmStatus, instanceMacsByInterface, type VmStatus } from './vm-status.ts';

/** VMI annotation: the MACs the previous instance of the VM ran with, `{interface: mac}` (for the connectivity check). */
export const ANNOTATION_PREVIOUS_MACS = 'harrow.io/previous-macs';
/** VMI annotation: the MACs the previous instance's guest had drifted to, `{interface: guestMac}` (for the observer). */
export const ANNOTATION_PREVIOUS_GUEST_MACS = 'harrow.io/previous-guest-macs';

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const vmFingerprint = (vm: VirtualMachine): string =>
  `${vm.metadata.uid}|${vm.metadata.generation}|${vm.metadata.deletionTimestamp ?? ''}|${JSON.stringify(vm.status?.stateChangeRequests ?? [])}|` +
  // Annotations do not move the generation; the fixed addresses among them are a restart's change (RestartRequired).
  JSON.stringify(fixedAddressAnnotations(vm.metadata.annotations));

const vmiFingerprintForVm = (vmi: VirtualMachineInstance): string =>
  `${vmi.metadata.uid}|${vmi.status?.phase}|${vmi.metadata.deletionTimestamp ?? ''}|` +
  `${vmi.status?.conditions?.find((x) => x.type === 'Ready')?.status}|` +
  `${JSON.stringify(vmi.status?.conditions?.find((x) => x.type === 'Synchronized') ?? null)}|` +
  `${JSON.stringify(vmi.status?.conditions?.find((x) => x.type === 'PodScheduled') ?? null)}|` +
  `${JSON.stringify(vmi.spec)}|${JSON.stringify(instanceMacsByInterface(vmi))}`;

export function vmController(ctx: ControllerContext): Controller {
  const { store, informers } = ctx;
  const log = ctx.logger.child({ controller: 'vm' });
  const event = eventRecorder(store, log, { component: 'virt-controller', host: ctx.nodeName });
  const c = ctx.manager.controller({ name: 'vm', reconcile, concurrency: ctx.concurrency });
  // Only changes that can alter the decision or the status (not the VM's own status writes, not guest IPs).
  informers.vms.onEvent((e) => {
    if (changed(e, vmFingerprint)) c.enqueue(objectKey(e.object));
  });
  informers.vmis.onEvent((e) => {
    if (changed(e, vmiFingerprintForVm)) c.enqueue(objectKey(e.object));
  });
  // A stopped VM's last pod going turns Stopping into Stopped.
  informers.pods.onEvent((e) => {
    const k = vmKeyOfPod(e.object);
    if (k && e.type === 'DELETED') c.enqueue(k);
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    const ref = refFor('VirtualMachine', key);
    const vm = (await store.get(ref)) as VirtualMachine | undefined;
    let vmi = (await store.get({ ...ref, kind: 'VirtualMachineInstance' })) as
      VirtualMachineInstance | undefined;
    if (!vm) {
      // The VM is gone: its VMI goes too (the launcher then stops the guest, the vmi controller removes the pod).
      if (vmi && ownerVmOf(vmi) && (await deleteIfExists(store, refOf(vmi)))) {
        log.info(
          { namespace: vmi.metadata.namespace, vm: vmi.metadata.name },
          'VM deleted: deleted its VMI',
        );
      }
      return {};
    }
    if (vmi) {
      const owner = ownerVmOf(vmi);
      if (owner && owner.uid !== vm.metadata.uid) {
        // A VMI left by an earlier VM of the same name.
        await deleteIfExists(store, refOf(vmi));
        vmi = undefined;
      }
    }
    const nowMs = ctx.now();
    const nowIso = new Date(nowMs).toISOString();
    const d = decide(vm, vmi, nowMs);
    let current = vm;
    if (d.stop && vmi) {
      const stopped: VirtualMachine = structuredClone(current);
      const status = (stopped.status ??= {}) as VmStatus;
      delete status.stateChangeRequests;
      status.previousMacs = instanceMacsByInterface(vmi);
      const drifted = Object.fromEntries(
        mismatchesOf(vmi.status?.interfaces).map((m) => [m.interface, m.record.guestMac]),
      );
      if (Object.keys(drifted).length > 0) status.previousGuestMacs = drifted;
      else delete status.previousGuestMacs;
      if (d.startFailure) status.startFailure = d.startFailure;
      // The remembered MACs and the VMI's deletion go together, so a crash in between cannot lose them.
      const [written] = await store.commit([
        { type: 'update', object: stopped },
        { type: 'delete', ref: refOf(vmi) },
      ]);
      current = written as VirtualMachine;
      await event(
        current,
        'Normal',
        'SuccessfulDelete',
        `Stopped the virtual machine by deleting the virtual machine instance ${vmi.metadata.uid ?? ''}`,
      );
      log.info(
        {
          namespace: vm.metadata.namespace,
          vm: vm.metadata.name,
          vmi: vmi.metadata.uid,
          phase: vmi.status?.phase,
        },
        'stopped VMI',
      );
      vmi = undefined;
    }
    if (d.start && !vmi) vmi = await createVmi(current);
    const status = computeVmStatus(
      current,
      vmi,
      d,
      nowIso,
      informers.pods.byIndex(INDEX_VM, key).length > 0,
    );
    if (!sameJson(current.status, status) || d.halt) {
      const next: VirtualMachine = { ...current, status };
      if (d.halt) {
        next.spec = { ...current.spec, runStrategy: 'Halted' };
        delete next.spec.running;
      }
      await store.update(next);
    }
    return d.requeueAfter !== undefined ? { requeueAfter: d.requeueAfter } : {};
  }

  async function createVmi(vm: VirtualMachine): Promise<VirtualMachineInstance> {
    const template = vm.spec.template;
    const { previousMacs: previous, previousGuestMacs } = (vm.status ?? {}) as VmStatus;
    // The instance runs with the fixed addresses its VM holds now (Harvester's annotations are the VM's, not the template's).
    const annotations: Record<string, string> = {
      ...(template.metadata?.annotations ?? {}),
      ...fixedAddressAnnotations(vm.metadata.annotations),
    };
    if (previous && Object.keys(previous).length > 0)
      annotations[ANNOTATION_PREVIOUS_MACS] = JSON.stringify(previous);
    if (previousGuestMacs && Object.keys(previousGuestMacs).length > 0)
      annotations[ANNOTATION_PREVIOUS_GUEST_MACS] = JSON.stringify(previousGuestMacs);
    if (vm.metadata.generation !== undefined)
      annotations['kubevirt.io/vm-generation'] = String(vm.metadata.generation);
    const vmi: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: vm.metadata.name,
        namespace: vm.metadata.namespace ?? 'default',
        labels: { ...(template.metadata?.labels ?? {}), [LABEL_VM_NAME]: vm.metadata.name },
        annotations,
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name: vm.metadata.name,
            uid: vm.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(template.spec),
      status: { phase: 'Pending' },
    };
    // KubeVirt defaults the instance, not the VM: a template without NICs runs with the default pod interface.
    attachDefaultPodInterface(vmi.spec);
    const created = (await store.create(vmi)) as VirtualMachineInstance;
    await event(
      vm,
      'Normal',
      'SuccessfulCreate',
      `Started the virtual machine by creating the new virtual machine instance ${created.metadata.name}`,
    );
    log.info(
      { namespace: created.metadata.namespace, vm: vm.metadata.name, vmi: created.metadata.uid },
      'created VMI',
    );
    if (previous) {
      const ifaces = template.spec.domain?.devices?.interfaces ?? [];
      const changes = ifaces.flatMap((iface, i) => {
        const old = previous[iface.name];
        const now = iface.macAddress?.toLowerCase();
        return old && now && old !== now
          ? [
              {
                field: `spec.template.spec.domain.devices.interfaces[${i}].macAddress`,
                old,
                new: now,
              },
            ]
          : [];
      });
      if (changes.length > 0) {
        await recordAudit(store, log, {
          verb: 'restart-applied',
          resource: {
            kind: 'VirtualMachine',
            namespace: vm.metadata.namespace ?? 'default',
            name: vm.metadata.name,
          },
          changes,
          outcome: {
            code: 200,
            message: `the restart applied ${changes.length} MAC change(s) from the manifest; new instance ${created.metadata.uid ?? ''}`,
          },
        });
      }
    }
    return created;
  }
}
