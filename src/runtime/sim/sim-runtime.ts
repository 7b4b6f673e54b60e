// The sim runtime: an in-process L2 world (networks with DHCP, pod ports with a MAC spoof check, busybox guests) behind Runtime.
import { ConsoleHub, MemoryConsoleLog } from '../console.ts';
import { checkNetworkSpec } from '../network-spec.ts';
import type {
  ConsoleConnection,
  ExecResult,
  GuestNicStatistics,
  GuestObservation,
  GuestSpec,
  GuestState,
  Inventory,
  Lease,
  NetworkSpec,
  NicCounters,
  PodInterfaceStatus,
  PodNetworkRequest,
  Runtime,
  RuntimeEvent,
} from '../types.ts';
import { BootQueue } from './boot-queue.ts';
import type { DhcpOutcome, GuestLink, GuestOs } from './busybox/guest-os.ts';
import { SerialShell } from './busybox/serial-shell.ts';
import { runCommand } from './busybox/shell.ts';
import {
  attachDisks,
  newSimDisk,
  writeDevice,
  type SimBlockDevice,
  type SimDisk,
} from './guest-disks.ts';
import { DhcpServer } from './dhcp-server.ts';
import { bootNetworkPlan } from './guest-network.ts';
import { isAssignableMac, normalizeMac } from './ethernet.ts';
import { type Cidr, formatIpv4, parseIpv4 } from '../../ip/ipv4.ts';

export interface SimRuntimeOptions {
  /** Time from startGuest (or an in-guest reboot) until the guest has run DHCP and its agent connects; default 50 ms. */
  bootMs?: number;
  /** Wall clock in epoch ms for lease times; inject one to move time forward in tests. */
  clock?: () => number;
  /** DHCP lease time handed out by every network; default 3600 (dnsmasq's default), Infinity for infinite leases. */
  dhcpLeaseSeconds?: number;
}

export interface SimRuntime extends Runtime {
  readonly name: 'sim';
  /** Test hook: the guest's process dies — state Failed and a guest-failed event. */
  crash(vmiUid: string, reason?: string): void;
}

interface SimNetwork {
  spec: NetworkSpec;
  cidr: Cidr;
  gateway: number;
  dhcp: DhcpServer;
  /** Pod ports on the bridge by their assigned MAC (a set: the platform, not the bridge, prevents duplicates). */
  portsByMac: Map<string, Set<PodPort>>;
  /** Guest NICs by the IPv4 address configured on them, for ARP. */
  nicsByIp: Map<number, Set<SimNic>>;
}

interface PodPort {
  network: SimNetwork;
  podInterfaceName: string;
  /** The MAC the network plugin assigned; the spoof check lets only frames from it through. */
  mac: string;
  nic: SimNic | undefined;
}

interface SimPod {
  uid: string;
  requestKey: string;
  ports: Map<string, PodPort>;
  statuses: PodInterfaceStatus[];
  guests: Set<string>;
}

interface SimNic {
  guest: SimGuest;
  name: string;
  /** ethN: the kernel's name for it (net.ifnames=0; virtio NICs enumerate in device order). */
  kernelName: string;
  /** Its name inside the guest now: the kernel's, or what the guest's udev configuration renamed it to. */
  ifName: string;
  ifIndex: number;
  podInterfaceName: string;
  deviceMac: string;
  guestMac: string;
  up: boolean;
  ipv4: { ip: number; network: SimNetwork } | undefined;
  /** What the guest sent and received on it (the tap's counters, from the guest's side). */
  counters: NicCounters;
}

// Frame sizes on the wire (Ethernet header included): a DHCP message with BOOTP's 300-byte minimum payload, as udhcpc
// sends, and an ICMP echo carrying `dataBytes`.
const DHCP_FRAME_BYTES = 14 + 20 + 8 + 300;
const echoFrameBytes = (dataBytes: number): number => 14 + 20 + 8 + dataBytes;

const zeroCounters = (): NicCounters => ({
  rxBytes: 0,
  rxPackets: 0,
  rxErrors: 0,
  rxDropped: 0,
  txBytes: 0,
  txPackets: 0,
  txErrors: 0,
  txDropped: 0,
});

interface SimGuest {
  spec: GuestSpec;
  state: GuestState;
  reason: string | undefined;
  agentConnected: boolean;
  /** Bumped on every power change so that a boot scheduled before it is ignored. */
  bootEpoch: number;
  nics: SimNic[];
  /** ttyS0: its connections and log, and the getty/login/shell that answers on it. */
  console: ConsoleHub;
  shell: SerialShell;
  /** The root disk's files: fresh at every start (an ephemeral containerDisk), kept through an in-guest reboot. */
  files: Map<string, string>;
  /** Its other disks as block devices, by /dev name. */
  devices: Map<string, SimBlockDevice>;
}

const isLive = (state: GuestState): boolean => state === 'Starting' || state === 'Running';

export function createSimRuntime(options: SimRuntimeOptions = {}): SimRuntime {
  const bootMs = options.bootMs ?? 50;
  const clock = options.clock ?? Date.now;
  const leaseSeconds = options.dhcpLeaseSeconds ?? 3600;
  if (!Number.isFinite(bootMs) || bootMs < 0)
    throw new Error(`sim runtime: bootMs must be a finite number >= 0, got ${bootMs}`);
  if (!(leaseSeconds > 0))
    throw new Error(`sim runtime: dhcpLeaseSeconds must be > 0 or Infinity, got ${leaseSeconds}`);

  const networks = new Map<string, SimNetwork>();
  const pods = new Map<string, SimPod>();
  const guests = new Map<string, SimGuest>();
  /** Persistent disks (PersistentVolumeClaims) by id: they outlive guests. */
  const disks = new Map<string, SimDisk>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  const boots = new BootQueue(bootMs);
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new Error('sim runtime is closed');
  };

  const emit = (event: RuntimeEvent): void => {
    // Delivered later, like events from a QMP socket, so a listener never runs inside the call that caused it.
    for (const listener of [...listeners]) queueMicrotask(() => listener(event));
  };

  // ---- the L2 world ----

  const portOf = (nic: SimNic): PodPort | undefined => {
    const port = pods.get(nic.guest.spec.podUid)?.ports.get(nic.podInterfaceName);
    return port?.nic === nic ? port : undefined;
  };

  /** The network a NIC's frames reach, or undefined when they are dropped (guest down, link down, spoof check, no bridge). */
  const transmits = (nic: SimNic): SimNetwork | undefined => {
    if (nic.guest.state !== 'Running' || !nic.up) return undefined;
    const port = portOf(nic);
    if (!port || port.mac !== nic.guestMac) return undefined;
    return networks.get(port.network.spec.id) === port.network ? port.network : undefined;
  };

  /** The guest puts a frame on its NIC: counted as sent whether or not the spoof check lets it through. */
  const send = (nic: SimNic, bytes: number): void => {
    if (nic.guest.state !== 'Running' || !nic.up) return;
    nic.counters.txPackets++;
    nic.counters.txBytes += bytes;
  };
  const receive = (nic: SimNic, bytes: number): void => {
    nic.counters.rxPackets++;
    nic.counters.rxBytes += bytes;
  };

  const setIpv4 = (nic: SimNic, ipv4: SimNic['ipv4']): void => {
    if (nic.ipv4) nic.ipv4.network.nicsByIp.get(nic.ipv4.ip)?.delete(nic);
    nic.ipv4 = ipv4;
    if (!ipv4) return;
    let holders = ipv4.network.nicsByIp.get(ipv4.ip);
    if (!holders) ipv4.network.nicsByIp.set(ipv4.ip, (holders = new Set()));
    holders.add(nic);
  };

  const runDhcp = (nic: SimNic): DhcpOutcome => {
    // udhcpc's script deconfigures the interface and brings it up before the first DISCOVER.
    setIpv4(nic, undefined);
    nic.up = true;
    send(nic, DHCP_FRAME_BYTES); // DISCOVER
    const network = transmits(nic);
    const binding = network?.dhcp.bind(nic.guestMac);
    if (!network || !binding) return { bound: false };
    // OFFER, REQUEST, ACK.
    receive(nic, DHCP_FRAME_BYTES);
    send(nic, DHCP_FRAME_BYTES);
    receive(nic, DHCP_FRAME_BYTES);
    setIpv4(nic, { ip: binding.ip, network });
    return {
      bound: true,
      address: formatIpv4(binding.ip),
      server: formatIpv4(network.gateway),
      leaseSeconds: binding.leaseSeconds,
    };
  };

  /** Whether a guest still uses the lease of `mac` and its frames get through, so its DHCP client renews it. */
  const leaseHolderOnline = (network: SimNetwork, mac: string, ip: number): boolean => {
    for (const port of network.portsByMac.get(mac) ?? []) {
      const nic = port.nic;
      if (
        nic &&
        nic.guestMac === mac &&
        nic.ipv4?.ip === ip &&
        nic.ipv4.network === network &&
        transmits(nic) === network
      )
        return true;
    }
    return false;
  };

  const echo = (nic: SimNic, target: number, dataBytes: number): boolean => {
    const frame = echoFrameBytes(dataBytes);
    send(nic, frame);
    const network = transmits(nic);
    if (!network || nic.ipv4?.network !== network) return false;
    if (target === network.gateway) {
      receive(nic, frame);
      return true;
    }
    for (const holder of network.nicsByIp.get(target) ?? []) {
      if (holder !== nic && transmits(holder) === network) {
        receive(holder, frame);
        send(holder, frame);
        receive(nic, frame);
        return true;
      }
    }
    return false;
  };

  // ---- guest power ----

  const boot = (guest: SimGuest, epoch: number): void => {
    if (closed || guests.get(guest.spec.vmiUid) !== guest || guest.bootEpoch !== epoch) return;
    guest.state = 'Running';
    // The guest's own configuration names its NICs, may set their MACs (it does so at every boot, so a restart does
    // not undo it) and brings up the ones it configures with DHCP; then qemu-guest-agent starts.
    const plans = bootNetworkPlan(
      guest.files,
      guest.nics.map((n) => ({ kernelName: n.kernelName, mac: n.deviceMac })),
    );
    guest.nics.forEach((nic, i) => {
      const plan = plans[i];
      if (!plan) return;
      nic.ifName = plan.name;
      nic.guestMac = plan.mac;
      if (plan.dhcp) runDhcp(nic);
    });
    guest.agentConnected = true;
    guest.shell.boot();
    emit({ type: 'guest-changed', vmiUid: guest.spec.vmiUid });
  };

  const scheduleBoot = (guest: SimGuest): void => {
    const epoch = guest.bootEpoch;
    boots.schedule(() => boot(guest, epoch));
  };

  /** Resets what a power cycle resets: virtio-net reloads the device MAC, the guest's addresses and agent are gone. */
  const resetMachine = (guest: SimGuest): void => {
    guest.agentConnected = false;
    guest.bootEpoch++;
    for (const nic of guest.nics) {
      setIpv4(nic, undefined);
      nic.guestMac = nic.deviceMac;
      nic.ifName = nic.kernelName;
      nic.up = false;
    }
  };

  const powerOff = (guest: SimGuest, state: 'Stopped' | 'Failed', reason: string): void => {
    resetMachine(guest);
    guest.state = state;
    guest.reason = reason;
    for (const nic of guest.nics) {
      const port = portOf(nic);
      if (port) port.nic = undefined;
    }
    guest.console.closeAll(`the guest stopped (${reason})`);
    emit(
      state === 'Stopped'
        ? { type: 'guest-stopped', vmiUid: guest.spec.vmiUid, reason }
        : { type: 'guest-failed', vmiUid: guest.spec.vmiUid, reason },
    );
  };

  const fingerprint = (guest: SimGuest): string =>
    `${guest.state}|${guest.agentConnected}|` +
    guest.nics.map((n) => `${n.guestMac}/${n.ipv4?.ip ?? ''}`).join(',');

  const guestOs = (guest: SimGuest): GuestOs => {
    const nicNamed = (name: string): SimNic => {
      const nic = guest.nics.find((n) => n.ifName === name);
      if (!nic) throw new Error(`sim guest ${guest.spec.vmiUid} has no link ${name}`);
      return nic;
    };
    return {
      links: (): GuestLink[] =>
        guest.nics.map((n) => ({
          index: n.ifIndex,
          name: n.ifName,
          mac: n.guestMac,
          up: n.up,
          ipv4: n.ipv4
            ? { address: formatIpv4(n.ipv4.ip), prefix: n.ipv4.network.cidr.prefix }
            : undefined,
        })),
      setLinkAddress: (name, mac) => {
        nicNamed(name).guestMac = mac;
      },
      setLinkUp: (name, up) => {
        nicNamed(name).up = up;
      },
      runDhcp: (name) => runDhcp(nicNamed(name)),
      echo: (name, target, dataBytes) => {
        const address = parseIpv4(target);
        return address !== undefined && echo(nicNamed(name), address, dataBytes);
      },
      readFile: (path) => guest.devices.get(path)?.content ?? guest.files.get(path),
      writeFile: (path, content) => {
        const device = guest.devices.get(path);
        if (device) writeDevice(device, content);
        else guest.files.set(path, content);
      },
      removeFile: (path) => guest.files.delete(path),
      listFiles: (dir) => [...guest.files.keys()].filter((p) => p.startsWith(dir)).sort(),
      reboot: () => {
        // The VM process keeps running through a guest reboot: QEMU stays Running, only the agent goes away.
        resetMachine(guest);
        scheduleBoot(guest);
      },
    };
  };

  const describe = (guest: SimGuest): string =>
    `${guest.spec.namespace}/${guest.spec.name} (vmi ${guest.spec.vmiUid})`;

  /** A command in the guest, from guest-exec or typed on the console; a change it makes is news to the observer. */
  const runInGuest = (guest: SimGuest, argv: string[]): ExecResult => {
    const before = fingerprint(guest);
    const result = runCommand(argv, guestOs(guest));
    if (fingerprint(guest) !== before) emit({ type: 'guest-changed', vmiUid: guest.spec.vmiUid });
    return result;
  };

  const newGuest = (spec: GuestSpec): SimGuest => {
    const serial = new ConsoleHub((data) => {
      // The serial port only answers while the machine runs; typing into a stopped one goes nowhere.
      if (guest.state === 'Running') shell.input(data);
    }, new MemoryConsoleLog());
    const shell = new SerialShell(
      (text) => serial.output(Buffer.from(text, 'utf8')),
      (line) => runInGuest(guest, ['sh', '-c', line]),
    );
    const guest: SimGuest = {
      spec,
      state: 'Starting',
      reason: undefined,
      agentConnected: false,
      bootEpoch: 0,
      nics: [],
      files: new Map(),
      devices: new Map(),
      console: serial,
      shell,
    };
    return guest;
  };

  // ---- Runtime ----

  const runtime: SimRuntime = {
    name: 'sim',

    async ensureNetwork(spec) {
      assertOpen();
      const { cidr, gateway, dhcpRange } = checkNetworkSpec(spec);
      const where = `network ${spec.name} (${spec.id})`;
      const pool = { ...dhcpRange, gateway };

      const existing = networks.get(spec.id);
      if (existing) {
        if (JSON.stringify(existing.spec) === JSON.stringify(spec)) return;
        if (
          existing.cidr.network !== cidr.network ||
          existing.cidr.prefix !== cidr.prefix ||
          existing.gateway !== gateway
        ) {
          throw new Error(
            `${where}: cidr and gateway of an existing network cannot change; remove it first`,
          );
        }
        existing.spec = structuredClone(spec);
        existing.dhcp.reconfigure(pool);
        return;
      }
      const network: SimNetwork = {
        spec: structuredClone(spec),
        cidr,
        gateway,
        dhcp: new DhcpServer(pool, leaseSeconds, clock, (mac, ip) =>
          leaseHolderOnline(network, mac, ip),
        ),
        portsByMac: new Map(),
        nicsByIp: new Map(),
      };
      networks.set(spec.id, network);
    },

    async removeNetwork(networkId) {
      assertOpen();
      // The bridge and dnsmasq go; ports stay detached from any bridge re-created under the same id.
      networks.delete(networkId);
    },

    async setupPod(request: PodNetworkRequest) {
      assertOpen();
      const where = `pod ${request.namespace}/${request.podName} (${request.podUid})`;
      const normalized = request.interfaces.map((iface, i) => {
        const field = `interfaces[${i}]`;
        const mac = normalizeMac(iface.mac);
        if (!mac) throw new Error(`${where}: ${field}.mac '${iface.mac}' is not a MAC address`);
        if (!isAssignableMac(mac))
          throw new Error(
            `${where}: ${field}.mac ${mac} is multicast or zero and cannot be set on an interface`,
          );
        const network = networks.get(iface.network.id);
        if (!network)
          throw new Error(
            `${where}: ${field}.network ${iface.network.name} (${iface.network.id}) does not exist on this host`,
          );
        if (!iface.podInterfaceName)
          throw new Error(`${where}: ${field}.podInterfaceName is required`);
        return { iface, mac, network };
      });
      const names = new Set<string>();
      for (const [i, { iface }] of normalized.entries()) {
        if (names.has(iface.podInterfaceName))
          throw new Error(
            `${where}: interfaces[${i}].podInterfaceName ${iface.podInterfaceName} is used twice`,
          );
        names.add(iface.podInterfaceName);
      }
      const requestKey = JSON.stringify(
        normalized.map(({ iface, mac }) => [
          iface.name,
          iface.podInterfaceName,
          mac,
          iface.network.id,
          iface.binding,
        ]),
      );
      const existing = pods.get(request.podUid);
      if (existing) {
        if (existing.requestKey !== requestKey)
          throw new Error(`${where}: already set up with other interfaces; tear it down first`);
        return structuredClone(existing.statuses);
      }
      const pod: SimPod = {
        uid: request.podUid,
        requestKey,
        ports: new Map(),
        statuses: [],
        guests: new Set(),
      };
      for (const { iface, mac, network } of normalized) {
        const port: PodPort = {
          network,
          podInterfaceName: iface.podInterfaceName,
          mac,
          nic: undefined,
        };
        pod.ports.set(iface.podInterfaceName, port);
        let sameMac = network.portsByMac.get(mac);
        if (!sameMac) network.portsByMac.set(mac, (sameMac = new Set()));
        sameMac.add(port);
        pod.statuses.push({
          name: iface.name,
          networkName: network.spec.name,
          podInterfaceName: iface.podInterfaceName,
          mac,
        });
      }
      pods.set(pod.uid, pod);
      return structuredClone(pod.statuses);
    },

    async teardownPod(podUid) {
      assertOpen();
      const pod = pods.get(podUid);
      if (!pod) return;
      // Deleting the launcher pod takes its guest with it.
      for (const vmiUid of pod.guests) {
        const guest = guests.get(vmiUid);
        if (!guest) continue;
        if (isLive(guest.state)) powerOff(guest, 'Stopped', 'launcher pod deleted');
        guest.console.closeAll('the launcher pod was deleted');
        guests.delete(vmiUid);
      }
      for (const port of pod.ports.values()) {
        const sameMac = port.network.portsByMac.get(port.mac);
        sameMac?.delete(port);
        if (sameMac?.size === 0) port.network.portsByMac.delete(port.mac);
      }
      pods.delete(podUid);
    },

    async startGuest(spec) {
      assertOpen();
      const existing = guests.get(spec.vmiUid);
      if (existing && isLive(existing.state)) return;
      const where = `guest ${spec.namespace}/${spec.name} (vmi ${spec.vmiUid})`;
      const pod = pods.get(spec.podUid);
      if (!pod) throw new Error(`${where}: pod ${spec.podUid} is not set up on this host`);
      const guest: SimGuest = existing ?? newGuest(spec);
      const ports: PodPort[] = [];
      const nics = spec.nics.map((nicSpec, i): SimNic => {
        const field = `nics[${i}]`;
        const mac = normalizeMac(nicSpec.mac);
        if (!mac || !isAssignableMac(mac))
          throw new Error(`${where}: ${field}.mac '${nicSpec.mac}' is not a unicast MAC address`);
        const port = pod.ports.get(nicSpec.podInterfaceName);
        if (!port)
          throw new Error(
            `${where}: ${field}.podInterfaceName ${nicSpec.podInterfaceName} does not exist in pod ${spec.podUid}`,
          );
        if (port.network.spec.id !== nicSpec.networkId) {
          throw new Error(
            `${where}: ${field}.networkId ${nicSpec.networkId} is not the network of pod interface ${nicSpec.podInterfaceName} (${port.network.spec.id})`,
          );
        }
        if (ports.includes(port))
          throw new Error(
            `${where}: ${field}.podInterfaceName ${nicSpec.podInterfaceName} is used twice`,
          );
        const holder = port.nic?.guest;
        if (holder && holder !== guest && isLive(holder.state)) {
          throw new Error(
            `${where}: ${field}.podInterfaceName ${nicSpec.podInterfaceName} is in use by ${describe(holder)}`,
          );
        }
        ports.push(port);
        return {
          guest,
          name: nicSpec.name,
          kernelName: `eth${i}`,
          ifName: `eth${i}`,
          ifIndex: i + 2,
          podInterfaceName: nicSpec.podInterfaceName,
          deviceMac: mac,
          guestMac: mac,
          up: false,
          ipv4: undefined,
          counters: zeroCounters(),
        };
      });
      if (existing && existing.spec.podUid !== spec.podUid)
        pods.get(existing.spec.podUid)?.guests.delete(spec.vmiUid);
      const storage = attachDisks(spec, (id) => disks.get(id));
      guest.spec = structuredClone(spec);
      guest.nics = nics;
      guest.files = storage.root;
      guest.devices = storage.devices;
      guest.state = 'Starting';
      guest.reason = undefined;
      guest.agentConnected = false;
      guest.bootEpoch++;
      nics.forEach((nic, i) => {
        const port = ports[i];
        if (port) port.nic = nic;
      });
      guests.set(spec.vmiUid, guest);
      pod.guests.add(spec.vmiUid);
      scheduleBoot(guest);
    },

    async stopGuest(vmiUid) {
      assertOpen();
      const guest = guests.get(vmiUid);
      // The simulated busybox guest honours ACPI power-off at once, so graceMs never runs out.
      if (guest && isLive(guest.state)) powerOff(guest, 'Stopped', 'guest powered off');
    },

    hasGuest(vmiUid) {
      return guests.has(vmiUid);
    },

    async observe(vmiUid): Promise<GuestObservation | undefined> {
      assertOpen();
      const guest = guests.get(vmiUid);
      if (!guest) return undefined;
      const observation: GuestObservation = {
        state: guest.state,
        nics: guest.nics.map((n) => ({
          name: n.name,
          deviceMac: n.deviceMac,
          guestMac: n.guestMac,
        })),
      };
      if (guest.reason !== undefined) observation.reason = guest.reason;
      if (guest.state === 'Running' && guest.agentConnected) {
        observation.agent = {
          interfaces: guest.nics.map((n) => ({
            interfaceName: n.ifName,
            mac: n.guestMac,
            ipAddresses: n.ipv4 ? [formatIpv4(n.ipv4.ip)] : [],
          })),
        };
      }
      return observation;
    },

    async nicStatistics(vmiUid): Promise<GuestNicStatistics[] | undefined> {
      assertOpen();
      const guest = guests.get(vmiUid);
      if (!guest || !isLive(guest.state)) return undefined;
      return guest.nics.map((n) => ({ name: n.name, ...n.counters }));
    },

    async exec(vmiUid, argv): Promise<ExecResult> {
      assertOpen();
      const guest = guests.get(vmiUid);
      if (!guest) throw new Error(`guest-exec: no guest with vmi uid ${vmiUid} on this host`);
      if (guest.state !== 'Running' || !guest.agentConnected) {
        const why =
          guest.state === 'Running' ? 'the guest is booting' : `the guest is ${guest.state}`;
        throw new Error(
          `guest-exec: the guest agent of ${describe(guest)} is not connected (${why})`,
        );
      }
      if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
        throw new Error('guest-exec: command must be a non-empty array of strings');
      }
      return runInGuest(guest, argv);
    },

    async openConsole(vmiUid, handlers, consoleOptions): Promise<ConsoleConnection> {
      assertOpen();
      const guest = guests.get(vmiUid);
      if (!guest) throw new Error(`console: no guest with vmi uid ${vmiUid} on this host`);
      if (!isLive(guest.state))
        throw new Error(`console: the guest ${describe(guest)} is ${guest.state}`);
      return guest.console.open(handlers, consoleOptions);
    },

    async consoleLog(vmiUid) {
      const guest = guests.get(vmiUid);
      return guest ? (await guest.console.log.read()).toString('utf8') : undefined;
    },

    async leases(networkId): Promise<Lease[]> {
      assertOpen();
      return networks.get(networkId)?.dhcp.list() ?? [];
    },

    async createDisk(diskSpec) {
      assertOpen();
      let disk = disks.get(diskSpec.id);
      if (!disk) {
        const content = diskSpec.content;
        disk = newSimDisk(
          diskSpec.capacityBytes,
          content,
          content.type === 'disk' ? disks.get(content.diskId) : undefined,
        );
        disks.set(diskSpec.id, disk);
      }
      return { capacityBytes: disk.capacityBytes };
    },

    async deleteDisk(id) {
      assertOpen();
      disks.delete(id);
    },

    async listDisks() {
      assertOpen();
      return [...disks.keys()].sort();
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async inventory(): Promise<Inventory> {
      assertOpen();
      return { networks: [...networks.keys()], pods: [...pods.keys()], guests: [...guests.keys()] };
    },

    async close() {
      closed = true;
      for (const guest of guests.values()) guest.console.closeAll('the runtime closed');
      boots.clear();
      listeners.clear();
    },

    crash(vmiUid, reason = 'qemu process exited unexpectedly (simulated crash)') {
      assertOpen();
      const guest = guests.get(vmiUid);
      if (!guest) throw new Error(`crash: no guest with vmi uid ${vmiUid}`);
      if (!isLive(guest.state))
        throw new Error(`crash: ${describe(guest)} is ${guest.state}, not running`);
      powerOff(guest, 'Failed', reason);
    },
  };
  return runtime;
}
