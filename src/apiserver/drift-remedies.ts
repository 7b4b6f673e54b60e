// The two remedies for guest MAC drift as API calls: restore-mac (restart: the guest gets the platform MAC again) and
// adopt-guest-mac (the guest's MAC into the manifest, validated and reserved like any user-given MAC, applied on restart).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, Conflict, Forbidden, HarrowError, Invalid, fieldInvalid, type StatusCause } from '../resources/errors.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import { interfacesOf, macField, templateSpecOf } from '../resources/virtualmachine.ts';
import type { UserInfo } from './admission/types.ts';
import { requestContext, requestUser } from './request-context.ts';
import { dryRunOf, setWarnings } from './resources.ts';
import { applyVmAction, vmiRunning, type VmActionDeps } from './vm-actions.ts';
import { admitAndCommit, notFound } from './writes.ts';

export const RESTORE_MAC = 'restore-mac';
export const ADOPT_GUEST_MAC = 'adopt-guest-mac';
type Remedy = typeof RESTORE_MAC | typeof ADOPT_GUEST_MAC;

/** One spec interface whose guest uses a MAC other than the platform's (VMI status.interfaces, from the observer). */
export interface Drift {
  interface: string;
  platformMac: string;
  guestMac: string;
}

export function driftOf(vmi: VirtualMachineInstance | undefined): Drift[] {
  return (vmi?.status?.interfaces ?? []).flatMap((s) =>
    s.name && s.mac && typeof s.guestMac === 'string' && s.guestMac.toLowerCase() !== s.mac.toLowerCase()
      ? [{ interface: s.name, platformMac: s.mac, guestMac: s.guestMac.toLowerCase() }]
      : [],
  );
}

const conflict = (name: string, why: string): Conflict =>
  new Conflict(`Operation cannot be fulfilled on virtualmachine.kubevirt.io "${name}": ${why}`, { name, group: 'kubevirt.io', kind: 'virtualmachine' });

export interface Adoption {
  vm: VirtualMachine;
  adopted: Array<Drift & { field: string }>;
}

/**
 * The VM with each drifted interface's macAddress set to what its guest uses (all drifted ones, or those named). Throws
 * Invalid naming `interfaces[i]` for a name that is not an interface or shows no drift, Conflict when nothing drifted.
 * Validation and the reservation of the new MACs are the VM admission's, as for any user-given MAC.
 */
export function adoptGuestMacs(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, names: string[] | undefined): Adoption {
  const name = vm.metadata.name;
  if (!vmiRunning(vmi)) throw conflict(name, 'VM is not running: there is no guest MAC to adopt');
  const drift = driftOf(vmi);
  const ifaces = interfacesOf(templateSpecOf(vm));
  const causes: StatusCause[] = [];
  (names ?? []).forEach((n, i) => {
    if (!ifaces.some((x) => x.name === n)) causes.push(fieldInvalid(`interfaces[${i}]`, `${name} has no interface ${JSON.stringify(n)} (its interfaces: ${ifaces.map((x) => x.name).join(', ') || 'none'})`));
    else if (!drift.some((d) => d.interface === n)) causes.push(fieldInvalid(`interfaces[${i}]`, `the guest uses the platform MAC on interface ${n}: nothing to adopt`));
  });
  if (causes.length > 0) throw new Invalid(`adopt-guest-mac on virtualmachine.kubevirt.io "${name}" is invalid`, causes, { name, group: 'subresources.harrow.io', kind: 'virtualmachines/adopt-guest-mac' });
  const chosen = drift.filter((d) => names === undefined || names.length === 0 || names.includes(d.interface));
  if (chosen.length === 0) throw conflict(name, 'no interface shows a guest MAC other than the platform one: nothing to adopt');
  const next = structuredClone(vm);
  const adopted: Adoption['adopted'] = [];
  interfacesOf(templateSpecOf(next)).forEach((iface, i) => {
    const d = chosen.find((x) => x.interface === iface.name);
    if (!d) return;
    iface.macAddress = d.guestMac;
    adopted.push({ ...d, field: macField(i) });
  });
  return { vm: next, adopted };
}

type RemedyRequest = FastifyRequest<{ Params: { namespace: string; name: string }; Body: unknown }>;

/** The optional body: `{interfaces?: [names], dryRun?: ["All"]}`. */
function parseBody(remedy: Remedy, body: unknown): { interfaces?: string[]; dryRun: boolean } {
  if (body === undefined || body === null || body === '') return { dryRun: false };
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest(`${remedy}: the body must be empty or a JSON object`);
  const { interfaces, dryRun, ...rest } = body as { interfaces?: unknown; dryRun?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new BadRequest(`${remedy}: unknown field(s) ${unknown.join(', ')} (known: ${remedy === ADOPT_GUEST_MAC ? 'interfaces, ' : ''}dryRun)`);
  if (interfaces !== undefined && (remedy !== ADOPT_GUEST_MAC || !Array.isArray(interfaces) || !interfaces.every((i) => typeof i === 'string'))) {
    throw new BadRequest(remedy === ADOPT_GUEST_MAC ? 'interfaces must be a list of interface names' : `${remedy}: a restart restores every interface; interfaces applies to adopt-guest-mac`);
  }
  if (dryRun !== undefined && !Array.isArray(dryRun)) throw new BadRequest('dryRun must be a list, e.g. ["All"]');
  return { ...(interfaces !== undefined ? { interfaces: interfaces as string[] } : {}), dryRun: (dryRun ?? []).map((d: unknown) => dryRunOf(String(d))).some(Boolean) };
}

const ATTEMPTS = 5;

export function registerDriftRemedies(app: FastifyInstance, deps: VmActionDeps): void {
  const vmInfo = kindInfo('VirtualMachine');
  for (const remedy of [RESTORE_MAC, ADOPT_GUEST_MAC] as const) {
    app.put(
      `/apis/subresources.harrow.io/v1/namespaces/:namespace/virtualmachines/:name/${remedy}`,
      { config: { harrow: { kind: 'VirtualMachine', verb: remedy, audited: true } } },
      async (request: RemedyRequest, reply: FastifyReply) => {
        const { namespace, name } = request.params;
        const user: UserInfo = requestUser(request);
        if (!deps.authorize(user, remedy, 'VirtualMachine', namespace, name)) {
          throw new Forbidden(`virtualmachines.kubevirt.io "${name}" is forbidden: User "${user.name}" cannot ${remedy} virtual machines in the namespace "${namespace}"`, {
            name,
            group: 'subresources.harrow.io',
            kind: `virtualmachines/${remedy}`,
          });
        }
        const body = parseBody(remedy, request.body);
        const context = requestContext(request);
        context.dryRun = context.dryRun || body.dryRun;
        for (let attempt = 1; ; attempt++) {
          const vm = (await deps.store.get({ kind: 'VirtualMachine', namespace, name })) as VirtualMachine | undefined;
          if (!vm) throw notFound(vmInfo, name);
          const vmi = (await deps.store.get({ kind: 'VirtualMachineInstance', namespace, name })) as VirtualMachineInstance | undefined;
          let next: VirtualMachine;
          let message: string;
          if (remedy === RESTORE_MAC) {
            if (!vmiRunning(vmi)) throw conflict(name, 'VM is not running: its next start gives the guest the platform MACs anyway');
            next = applyVmAction('restart', vm, vmi);
            const drift = driftOf(vmi);
            message = drift.length > 0
              ? `restarting ${name}: ${drift.map((d) => `interface ${d.interface} gets ${d.platformMac} again (the guest uses ${d.guestMac})`).join('; ')}`
              : `restarting ${name}: no interface shows drift; the guest keeps the platform MACs`;
          } else {
            const adoption = adoptGuestMacs(vm, vmi, body.interfaces);
            next = adoption.vm;
            message = `${adoption.adopted.map((a) => `interface ${a.interface}: macAddress ${a.platformMac} → ${a.guestMac}`).join('; ')}; applied at the next restart (the old MAC is quarantined once released)`;
          }
          try {
            const result = await admitAndCommit(deps, {
              info: vmInfo,
              operation: 'update',
              object: next,
              oldObject: vm,
              user,
              dryRun: context.dryRun,
              verb: remedy,
              subresource: remedy,
              code: remedy === RESTORE_MAC ? 202 : 200,
            });
            if (remedy === RESTORE_MAC) {
              setWarnings(reply, result.warnings);
              return reply.code(202).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 202, message });
            }
            setWarnings(reply, [...result.warnings, `${message}${context.dryRun ? ' (dry run: nothing changed)' : ''}`]);
            return result.object;
          } catch (e) {
            // A controller's status write raced us: decide again on the fresh VM.
            if (!(e instanceof HarrowError) || e.reason !== 'Conflict' || e.details.causes !== undefined || attempt >= ATTEMPTS) throw e;
            const fresh = await deps.store.get({ kind: 'VirtualMachine', namespace, name });
            if (fresh?.metadata.resourceVersion === vm.metadata.resourceVersion) throw e;
          }
        }
      },
    );
  }
}
