// The two remedies for guest MAC drift as API calls: restore-mac (restart: the guest gets the platform MAC again) and
// adopt-guest-mac (the guest's MAC into the manifest, validated and reserved like any user-given MAC, applied on restart).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { driftedGuestMacOf } from '../network/drift.ts';
import { BadRequest, Invalid, fieldInvalid, type StatusCause } from '../resources/errors.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import { interfacesOf, macField, templateSpecOf } from '../resources/virtualmachine.ts';
import { requestContext } from './request-context.ts';
import { dryRunOf, setWarnings } from './resources.ts';
import { applyVmAction, vmConflict, vmiRunning, type VmActionDeps } from './vm-actions.ts';
import { commitVmSubresource } from './vm-subresource.ts';

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
  return (vmi?.status?.interfaces ?? []).flatMap((s) => {
    const guestMac = driftedGuestMacOf(s);
    return guestMac !== undefined && s.name !== undefined && s.mac !== undefined
      ? [{ interface: s.name, platformMac: s.mac, guestMac }]
      : [];
  });
}

export interface Adoption {
  vm: VirtualMachine;
  adopted: Array<Drift & { field: string }>;
}

/**
 * The VM with each drifted interface's macAddress set to what its guest uses (all drifted ones, or those named). Throws
 * Invalid naming `interfaces[i]` for a name that is not an interface or shows no drift, Conflict when nothing drifted.
 * Validation and the reservation of the new MACs are the VM admission's, as for any user-given MAC.
 */
export function adoptGuestMacs(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  names: string[] | undefined,
): Adoption {
  const name = vm.metadata.name;
  if (!vmiRunning(vmi)) throw vmConflict(name, 'VM is not running: there is no guest MAC to adopt');
  const drift = driftOf(vmi);
  const ifaces = interfacesOf(templateSpecOf(vm));
  const causes: StatusCause[] = [];
  (names ?? []).forEach((n, i) => {
    if (!ifaces.some((x) => x.name === n))
      causes.push(
        fieldInvalid(
          `interfaces[${i}]`,
          `${name} has no interface ${JSON.stringify(n)} (its interfaces: ${ifaces.map((x) => x.name).join(', ') || 'none'})`,
        ),
      );
    else if (!drift.some((d) => d.interface === n))
      causes.push(
        fieldInvalid(
          `interfaces[${i}]`,
          `the guest uses the platform MAC on interface ${n}: nothing to adopt`,
        ),
      );
  });
  if (causes.length > 0)
    throw new Invalid(
      `adopt-guest-mac on virtualmachine.kubevirt.io "${name}" is invalid`,
      causes,
      { name, group: 'subresources.harrow.io', kind: 'virtualmachines/adopt-guest-mac' },
    );
  const chosen = drift.filter(
    (d) => names === undefined || names.length === 0 || names.includes(d.interface),
  );
  if (chosen.length === 0)
    throw vmConflict(
      name,
      'no interface shows a guest MAC other than the platform one: nothing to adopt',
    );
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

/** restore-mac's answer: what the restart does to each drifted interface, or would do under dryRun. */
export function restoreMessage(name: string, drift: Drift[], dryRun: boolean): string {
  const what =
    drift.length > 0
      ? drift
          .map(
            (d) =>
              `interface ${d.interface} ${dryRun ? 'would get' : 'gets'} ${d.platformMac} again (the guest uses ${d.guestMac})`,
          )
          .join('; ')
      : `no interface shows drift; the guest keeps the platform MACs`;
  return dryRun
    ? `dry run: nothing changed; ${name} would restart: ${what}`
    : `restarting ${name}: ${what}`;
}

/** adopt-guest-mac's warning: each interface's manifest MAC before and after, or what it would be under dryRun. */
export function adoptMessage(adopted: Adoption['adopted'], dryRun: boolean): string {
  const what = adopted
    .map((a) => `interface ${a.interface}: macAddress ${a.platformMac} → ${a.guestMac}`)
    .join('; ');
  return dryRun
    ? `dry run: nothing changed; ${what} would apply at the next restart`
    : `${what}; applied at the next restart (the old MAC is quarantined once released)`;
}

type RemedyRequest = FastifyRequest<{ Params: { namespace: string; name: string }; Body: unknown }>;

/** The optional body: `{interfaces?: [names], dryRun?: ["All"]}`. */
function parseBody(remedy: Remedy, body: unknown): { interfaces?: string[]; dryRun: boolean } {
  if (body === undefined || body === null || body === '') return { dryRun: false };
  if (typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest(`${remedy}: the body must be empty or a JSON object`);
  const { interfaces, dryRun, ...rest } = body as { interfaces?: unknown; dryRun?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new BadRequest(
      `${remedy}: unknown field(s) ${unknown.join(', ')} (known: ${remedy === ADOPT_GUEST_MAC ? 'interfaces, ' : ''}dryRun)`,
    );
  if (
    interfaces !== undefined &&
    (remedy !== ADOPT_GUEST_MAC ||
      !Array.isArray(interfaces) ||
      !interfaces.every((i) => typeof i === 'string'))
  ) {
    throw new BadRequest(
      remedy === ADOPT_GUEST_MAC
        ? 'interfaces must be a list of interface names'
        : `${remedy}: a restart restores every interface; interfaces applies to adopt-guest-mac`,
    );
  }
  if (dryRun !== undefined && !Array.isArray(dryRun))
    throw new BadRequest('dryRun must be a list, e.g. ["All"]');
  return {
    ...(interfaces !== undefined ? { interfaces: interfaces as string[] } : {}),
    dryRun: (dryRun ?? []).map((d: unknown) => dryRunOf(String(d))).some(Boolean),
  };
}

export function registerDriftRemedies(app: FastifyInstance, deps: VmActionDeps): void {
  for (const remedy of [RESTORE_MAC, ADOPT_GUEST_MAC] as const) {
    app.put(
      `/apis/subresources.harrow.io/v1/namespaces/:namespace/virtualmachines/:name/${remedy}`,
      { config: { harrow: { kind: 'VirtualMachine', verb: remedy, audited: true } } },
      async (request: RemedyRequest, reply: FastifyReply) => {
        const { name } = request.params;
        let body: { interfaces?: string[]; dryRun: boolean } | undefined;
        const parsed = (): { interfaces?: string[]; dryRun: boolean } =>
          (body ??= parseBody(remedy, request.body));
        let message = '';
        const result = await commitVmSubresource(deps, request, {
          group: 'subresources.harrow.io',
          action: remedy,
          code: remedy === RESTORE_MAC ? 202 : 200,
          bodyDryRun: () => parsed().dryRun,
          decide(vm, vmi) {
            if (remedy === RESTORE_MAC) {
              if (!vmiRunning(vmi))
                throw vmConflict(
                  name,
                  'VM is not running: its next start gives the guest the platform MACs anyway',
                );
              message = restoreMessage(name, driftOf(vmi), requestContext(request).dryRun);
              return applyVmAction('restart', vm, vmi);
            }
            const adoption = adoptGuestMacs(vm, vmi, parsed().interfaces);
            message = adoptMessage(adoption.adopted, requestContext(request).dryRun);
            return adoption.vm;
          },
        });
        if (remedy === RESTORE_MAC) {
          setWarnings(reply, result.warnings);
          return reply.code(202).send({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            code: 202,
            message,
          });
        }
        setWarnings(reply, [...result.warnings, message]);
        return result.object;
      },
    );
  }
}
