// VMI subresources that ask the guest through the runtime: KubeVirt's interfacelist and Harrow's guest-exec.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { auditRecord } from '../audit/record.ts';
import {
  Conflict,
  Forbidden,
  HarrowError,
  Invalid,
  fieldInvalid,
  fieldRequired,
} from '../resources/errors.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { VirtualMachineInstance } from '../resources/types.ts';
import type { ExecResult, GuestObservation, Runtime } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';
import type { UserInfo } from './admission/types.ts';
import type { Authorize } from './auth.ts';
import { requestUser } from './request-context.ts';
import { notFound } from './writes.ts';

export interface VmiSubresourceDeps {
  store: ResourceStore;
  runtime?: Runtime;
  authorize: Authorize;
}

/** One entry of the interfacelist answer: what the guest agent reports for one guest interface. */
export interface GuestInterface {
  interfaceName: string;
  mac: string;
  ipAddresses: string[];
  ipAddress?: string;
}

export interface GuestExecRequest {
  command: string[];
  timeoutSeconds?: number;
}

const MAX_EXEC_TIMEOUT_SECONDS = 600;
const DEFAULT_EXEC_TIMEOUT_SECONDS = 30;

/** The body of a guest-exec request, or Invalid naming the field. */
export function parseGuestExec(body: unknown): GuestExecRequest {
  const b = (
    typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}
  ) as Record<string, unknown>;
  const causes = [];
  const command = b.command;
  if (command === undefined)
    causes.push(
      fieldRequired('command', 'the command to run, as a list of arguments, e.g. ["ip", "link"]'),
    );
  else if (
    !Array.isArray(command) ||
    command.length === 0 ||
    !command.every((a) => typeof a === 'string')
  ) {
    causes.push(
      fieldInvalid('command', 'must be a non-empty list of strings (argv), e.g. ["ip", "link"]'),
    );
  } else if (command[0] === '') {
    causes.push(fieldInvalid('command[0]', 'the program to run must not be empty'));
  }
  const t = b.timeoutSeconds;
  if (
    t !== undefined &&
    (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_EXEC_TIMEOUT_SECONDS)
  ) {
    causes.push(
      fieldInvalid(
        'timeoutSeconds',
        `must be a whole number of seconds from 1 to ${MAX_EXEC_TIMEOUT_SECONDS}`,
      ),
    );
  }
  if (causes.length > 0)
    throw new Invalid(
      `guest-exec request is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`,
      causes,
    );
  return { command: command as string[], ...(typeof t === 'number' ? { timeoutSeconds: t } : {}) };
}

export function guestInterfaces(observation: GuestObservation): GuestInterface[] {
  return (observation.agent?.interfaces ?? []).map((i) => ({
    interfaceName: i.interfaceName,
    mac: i.mac,
    ipAddresses: [...i.ipAddresses],
    ...(i.ipAddresses[0] !== undefined ? { ipAddress: i.ipAddresses[0] } : {}),
  }));
}

/**
 * A VMI subresource's common checks: the user may `verb` the VMI, it exists, this server reaches guests and the VMI is
 * Running (KubeVirt's "VMI is not running" is a Conflict). Forbidden, NotFound, ServiceUnavailable or Conflict.
 */
export async function runningVmi(
  deps: VmiSubresourceDeps,
  params: { namespace: string; name: string },
  user: UserInfo,
  verb: string,
): Promise<{ vmi: VirtualMachineInstance; runtime: Runtime }> {
  const { namespace, name } = params;
  const vmiInfo = kindInfo('VirtualMachineInstance');
  if (!deps.authorize(user, verb, 'VirtualMachineInstance', namespace)) {
    throw new Forbidden(
      `virtualmachineinstances.kubevirt.io "${name}" is forbidden: User "${user.name}" cannot ${verb} in the namespace "${namespace}"`,
      {
        name,
        group: 'kubevirt.io',
        kind: 'virtualmachineinstances',
      },
    );
  }
  const vmi = (await deps.store.get({ kind: 'VirtualMachineInstance', namespace, name })) as
    VirtualMachineInstance | undefined;
  if (!vmi) throw notFound(vmiInfo, name);
  const details = { name, group: 'kubevirt.io', kind: 'virtualmachineinstances' };
  if (!deps.runtime)
    throw new HarrowError(
      'ServiceUnavailable',
      503,
      'this server has no runtime attached: it cannot reach guests',
      details,
    );
  const phase = vmi.status?.phase;
  if (phase !== 'Running') {
    throw new Conflict(
      `VirtualMachineInstance "${name}": VMI is not running (phase ${phase ?? 'unset'}): there is no guest to reach`,
      details,
    );
  }
  return { vmi, runtime: deps.runtime };
}

type VmiRequest = FastifyRequest<{ Params: { namespace: string; name: string }; Body: unknown }>;

export function registerVmiSubresources(app: FastifyInstance, deps: VmiSubresourceDeps): void {
  /** The VMI, its runtime and the runtime's view of its guest with the agent connected; Conflict naming what is missing. */
  const connectedGuest = async (
    request: VmiRequest,
    verb: string,
  ): Promise<{ vmi: VirtualMachineInstance; runtime: Runtime; observation: GuestObservation }> => {
    const { vmi, runtime } = await runningVmi(deps, request.params, requestUser(request), verb);
    const { name } = request.params;
    const details = { name, group: 'kubevirt.io', kind: 'virtualmachineinstances' };
    const observation = vmi.metadata.uid ? await runtime.observe(vmi.metadata.uid) : undefined;
    if (!observation || observation.state !== 'Running') {
      throw new Conflict(
        `VirtualMachineInstance "${name}" has no running guest on this host (guest state ${observation?.state ?? 'absent'})`,
        details,
      );
    }
    if (!observation.agent) {
      throw new Conflict(
        `VirtualMachineInstance "${name}" does not have the guest agent connected (yet): wait until the guest has booted`,
        details,
      );
    }
    return { vmi, runtime, observation };
  };

  app.get(
    '/apis/subresources.kubevirt.io/v1/namespaces/:namespace/virtualmachineinstances/:name/interfacelist',
    {
      config: { harrow: { kind: 'VirtualMachineInstance', verb: 'interfacelist', audited: false } },
    },
    async (request: VmiRequest) => {
      const { observation } = await connectedGuest(request, 'interfacelist');
      return {
        kind: 'VirtualMachineInstanceGuestOSInterfaceList',
        apiVersion: 'subresources.kubevirt.io/v1',
        metadata: {},
        items: guestInterfaces(observation),
      };
    },
  );

  app.post(
    '/apis/subresources.harrow.io/v1/namespaces/:namespace/virtualmachineinstances/:name/guest-exec',
    {
      config: {
        harrow: { kind: 'VirtualMachineInstance', verb: 'guest-exec', audited: true },
        longRunning: true,
      },
    },
    async (request: VmiRequest): Promise<ExecResult> => {
      const exec = parseGuestExec(request.body);
      const { vmi, runtime } = await connectedGuest(request, 'guest-exec');
      const result = await runtime.exec(vmi.metadata.uid!, exec.command, {
        timeoutMs: (exec.timeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS) * 1000,
      });
      // Nothing is stored by an exec, so its record is a write of its own.
      await deps.store.create(
        auditRecord({
          user: requestUser(request).name,
          verb: 'guest-exec',
          resource: {
            kind: 'VirtualMachineInstance',
            namespace: request.params.namespace,
            name: request.params.name,
          },
          changes: [{ field: 'command', new: exec.command }],
          outcome: { code: 200, message: `exit code ${result.exitCode}` },
        }),
      );
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    },
  );
}
