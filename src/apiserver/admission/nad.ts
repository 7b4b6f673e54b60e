// Admission for NetworkAttachmentDefinitions: validate the CNI config, reject subnets that overlap another NAD's, and
// fill a free 198.18.N.0/24 when ipam is missing.
import { type Cidr, cidrOverlaps, formatIpv4, parseCidr } from '../../ip/ipv4.ts';
import { Invalid, fieldInvalid } from '../../resources/errors.ts';
import { nadSubnet, validateNadConfig, type NadConfig } from '../../resources/nad.ts';
import type { NetworkAttachmentDefinition } from '../../resources/types.ts';
import type { ResourceStore } from '../../store/types.ts';
import type { AdmissionPlugin, AdmissionRequest, AdmissionResult } from './types.ts';

// 198.18.0.0/16: the half of the VM range that is not the pod network's.
const AUTO_BASE = (198 * 256 + 18) * 65536;
// A subnet handed out but not yet committed stays taken this long, so two NADs admitted at once do not get the same one.
const PENDING_MS = 60_000;

export function nadAdmission(
  store: ResourceStore,
  options: { now?: () => number } = {},
): AdmissionPlugin {
  const now = options.now ?? Date.now;
  const pending = new Map<number, { owner: string; until: number }>();

  async function otherSubnets(
    self: NetworkAttachmentDefinition,
  ): Promise<Array<{ nad: string; cidr: Cidr }>> {
    const out: Array<{ nad: string; cidr: Cidr }> = [];
    let token: string | undefined;
    do {
      const page = await store.list('NetworkAttachmentDefinition', {
        limit: 500,
        ...(token ? { continue: token } : {}),
      });
      for (const o of page.items) {
        const nad = o as NetworkAttachmentDefinition;
        if (
          nad.metadata.namespace === self.metadata.namespace &&
          nad.metadata.name === self.metadata.name
        )
          continue;
        const cidr = nadSubnet(nad);
        if (cidr)
          out.push({ nad: `${nad.metadata.namespace ?? 'default'}/${nad.metadata.name}`, cidr });
      }
      token = page.continue;
    } while (token);
    return out;
  }

  return {
    kinds: ['NetworkAttachmentDefinition'],
    async admit(req: AdmissionRequest): Promise<AdmissionResult | void> {
      if (req.operation === 'delete' || !req.object) return;
      const nad = req.object as NetworkAttachmentDefinition;
      const self = `${nad.metadata.namespace ?? 'default'}/${nad.metadata.name}`;
      const config = validateNadConfig(nad, { requireIpam: false });
      const others = await otherSubnets(nad);
      if (config.ipam?.subnet !== undefined) {
        const mine = parseCidr(config.ipam.subnet) as Cidr;
        const clash = others.find((o) => cidrOverlaps(o.cidr, mine));
        if (clash) {
          throw new Invalid(
            `NetworkAttachmentDefinition.k8s.cni.cncf.io "${nad.metadata.name}" is invalid`,
            [
              fieldInvalid(
                'spec.config',
                `ipam.subnet ${config.ipam.subnet} overlaps the subnet of NetworkAttachmentDefinition ${clash.nad}: VM networks share one host and need disjoint subnets`,
              ),
            ],
            {
              name: nad.metadata.name,
              group: 'k8s.cni.cncf.io',
              kind: 'NetworkAttachmentDefinition',
            },
          );
        }
        return;
      }
      const t = now();
      for (const [n, p] of pending) if (p.until <= t) pending.delete(n);
      let chosen: number | undefined;
      for (let n = 0; n < 256 && chosen === undefined; n++) {
        const cidr = parseCidr(`${formatIpv4(AUTO_BASE + n * 256)}/24`) as Cidr;
        const held = pending.get(n);
        if (held && held.owner !== self) continue;
        if (!others.some((o) => cidrOverlaps(o.cidr, cidr))) chosen = n;
      }
      if (chosen === undefined) {
        throw new Invalid(
          `NetworkAttachmentDefinition.k8s.cni.cncf.io "${nad.metadata.name}" is invalid`,
          [
            fieldInvalid(
              'spec.config',
              'ipam is missing and no free /24 is left in 198.18.0.0/16: give ipam.subnet explicitly',
            ),
          ],
        );
      }
      if (!req.dryRun) pending.set(chosen, { owner: self, until: t + PENDING_MS });
      const prefix = `198.18.${chosen}`;
      const filled: NadConfig = {
        ...config,
        ipam: {
          type: 'host-local',
          subnet: `${prefix}.0/24`,
          rangeStart: `${prefix}.2`,
          rangeEnd: `${prefix}.254`,
          gateway: `${prefix}.1`,
        },
      };
      nad.spec = { ...nad.spec, config: JSON.stringify(filled) };
      return {
        warnings: [`ipam was missing: assigned subnet ${prefix}.0/24 (gateway ${prefix}.1)`],
        changes: [{ field: 'spec.config.ipam.subnet', new: `${prefix}.0/24` }],
      };
    },
  };
}
