// Per-VMI network counters under KubeVirt's names (kubevirt_vmi_network_*) and virt-handler's labels (node, namespace,
// name, interface: the VMI's interface name), read from the runtime when Prometheus scrapes, for the guests this node
// runs (from the taps' counters on qemu, from the sim's model on sim).
import type { GuestNicStatistics, NicCounters } from '../runtime/types.ts';
import { addScrapeSource, type Samples, type ScrapedFamily } from '../metrics/scrape.ts';
import type { ControllerContext } from './context.ts';

const LABELS = ['node', 'namespace', 'name', 'interface'] as const;

const FIELDS: readonly [keyof NicCounters, string, string][] = [
  [
    'rxBytes',
    'kubevirt_vmi_network_receive_bytes_total',
    'Total network traffic received in bytes.',
  ],
  [
    'txBytes',
    'kubevirt_vmi_network_transmit_bytes_total',
    'Total network traffic transmitted in bytes.',
  ],
  [
    'rxPackets',
    'kubevirt_vmi_network_receive_packets_total',
    'Total network traffic received packets.',
  ],
  [
    'txPackets',
    'kubevirt_vmi_network_transmit_packets_total',
    'Total network traffic transmitted packets.',
  ],
  [
    'rxErrors',
    'kubevirt_vmi_network_receive_errors_total',
    'Total network received error packets.',
  ],
  [
    'txErrors',
    'kubevirt_vmi_network_transmit_errors_total',
    'Total network transmitted error packets.',
  ],
  [
    'rxDropped',
    'kubevirt_vmi_network_receive_packets_dropped_total',
    'The total number of rx packets dropped on vNIC interfaces.',
  ],
  [
    'txDropped',
    'kubevirt_vmi_network_transmit_packets_dropped_total',
    'The total number of tx packets dropped on vNIC interfaces.',
  ],
];

export const VMI_NETWORK_FAMILIES: readonly ScrapedFamily[] = FIELDS.map(([, name, help]) => ({
  name,
  help,
  type: 'counter',
  labelNames: LABELS,
}));

export interface VmiNicReport {
  node: string;
  namespace: string;
  name: string;
  nics: GuestNicStatistics[];
}

export function vmiNetworkSamples(reports: readonly VmiNicReport[]): Samples {
  const samples: Samples = Object.fromEntries(FIELDS.map(([, name]) => [name, []]));
  for (const r of reports)
    for (const nic of r.nics) {
      const labels = { node: r.node, namespace: r.namespace, name: r.name, interface: nic.name };
      for (const [field, name] of FIELDS) samples[name]!.push({ labels, value: nic[field] });
    }
  return samples;
}

/** Serves the counters of this node's running guests on the context's registry until the returned function is called. */
export function vmiNetworkMetrics(ctx: ControllerContext): () => void {
  const log = ctx.logger.child({ controller: 'vmi-network-metrics' });
  return addScrapeSource(
    ctx.metrics,
    VMI_NETWORK_FAMILIES,
    async () => {
      const running = [...ctx.informers.vmis.values()].filter(
        (v) =>
          v.status?.phase === 'Running' && v.metadata.uid && ctx.runtime.hasGuest(v.metadata.uid),
      );
      const reports = await Promise.all(
        running.map(async (v): Promise<VmiNicReport> => ({
          node: v.status?.nodeName ?? ctx.nodeName,
          namespace: v.metadata.namespace ?? 'default',
          name: v.metadata.name,
          nics: (await ctx.runtime.nicStatistics(v.metadata.uid!).catch(() => undefined)) ?? [],
        })),
      );
      return vmiNetworkSamples(reports);
    },
    (e) =>
      log.warn({ err: e instanceof Error ? e.message : String(e) }, 'reading NIC counters failed'),
  );
}
