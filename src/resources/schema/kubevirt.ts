// KubeVirt's kubevirt.io/v1 kinds (VirtualMachine, VirtualMachineInstance) as TypeBox schemas: their types, the
// unknown-field check and the served OpenAPI all come from here.
import { Type } from 'typebox';
import {
  bool,
  dateTime,
  defaulted,
  empty,
  int,
  kept,
  listOf,
  localObjectReference,
  mapListOf,
  oneOf,
  open,
  PRESERVE,
  quantity,
  quantityMap,
  str,
  stringMap,
  variants,
} from './builders.ts';
import { conditions, kindRoot } from './meta.ts';
import { DataVolumeTemplateSchema } from './storage.ts';

export type RunStrategy = 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once';

// What KubeVirt's structural CRD schema says, field by field, for every shape Harrow acts on (interfaces, networks,
// disks, volumes, domain, devices, VM and VMI spec): an object without `x-kubernetes-preserve-unknown-fields` has
// exactly these fields, so a misspelt one (`macAdress`) is unknown and refused under Strict. Shapes Harrow never
// reads (CPU, memory, firmware, clock, features, affinity, probes, …) keep unknown fields, as KubeVirt's own
// `Clock` does, so that any field a newer KubeVirt adds there is kept.

// --- network -----------------------------------------------------------------------------------------------------

export const DhcpOptionsSchema = Type.Object(
  {
    bootFileName: str('DHCP option 67 (boot file name).'),
    tftpServerName: str('DHCP option 66 (TFTP server name).'),
    ntpServers: listOf('NTP servers (DHCP option 42).', Type.String()),
    privateOptions: listOf(
      'Private DHCP options (224-254).',
      Type.Object({
        option: Type.Integer({ description: 'Option number, 224-254.', format: 'int32' }),
        value: Type.String({ description: 'Option value.' }),
      }),
    ),
  },
  { description: 'Extra DHCP options the interface passes to the guest.' },
);

export const PortSchema = Type.Object(
  {
    name: str('Port name (an IANA_SVC_NAME).'),
    protocol: str('TCP (default) or UDP.'),
    port: Type.Integer({ description: 'Port number, 1-65535.', format: 'int32' }),
  },
  { description: 'A port forwarded to the guest.' },
);

export const InterfaceSchema = Type.Object(
  {
    name: Type.String({
      description: 'Logical name of the interface; must match a network name in spec.networks.',
    }),
    macAddress: str(
      'The MAC address of the interface (52:54:00:ab:cd:ef, 52-54-00-AB-CD-EF, 5254.00ab.cdef or 525400abcdef; stored lower-case with colons). Unique cluster-wide; when absent, Harrow allocates one from the MacPool. Changing it needs a restart (RestartRequired).',
    ),
    model: str('Interface model: virtio (default), e1000, e1000e, ne2k_pci, pcnet, rtl8139.'),
    bridge: empty(
      "Bridge binding: the guest is connected to the pod network through a bridge and gets the pod interface's MAC.",
    ),
    masquerade: empty(
      'Masquerade binding: NAT behind the pod IP; 02:00:00:00:00:00 is reserved for its in-pod bridge.',
    ),
    sriov: empty('SR-IOV binding (kept, not acted on by Harrow).'),
    slirp: empty('Deprecated slirp binding (kept, not acted on by Harrow).'),
    macvtap: empty('Deprecated macvtap binding (kept, not acted on by Harrow).'),
    passt: empty('Deprecated passt binding (kept, not acted on by Harrow).'),
    binding: Type.Optional(
      Type.Object(
        { name: Type.String({ description: 'Name of the binding plugin.' }) },
        { description: 'A network binding plugin by name (kept, not acted on by Harrow).' },
      ),
    ),
    ports: listOf('Ports forwarded to the guest (masquerade).', PortSchema),
    bootOrder: int('Boot order of the interface (1 is first; unique among disks and interfaces).'),
    pciAddress: str('PCI address of the interface in the guest, e.g. 0000:81:01.10.'),
    dhcpOptions: Type.Optional(DhcpOptionsSchema),
    tag: str('A tag passed to the guest with the device address (config drive metadata).'),
    acpiIndex: int('ACPI index for stable device naming in the guest, 1-16383.'),
    state: str('Requested operational state of the interface: absent, down or up.'),
  },
  { description: 'A network interface of the guest, connected to the network of the same name.' },
);

export const MultusNetworkSchema = Type.Object(
  {
    networkName: Type.String({
      description: 'The NetworkAttachmentDefinition, as NAME or NAMESPACE/NAME.',
    }),
    default: bool("Use this network as the pod's default network."),
  },
  { description: 'A secondary network through Multus: a NetworkAttachmentDefinition.' },
);

export const PodNetworkSchema = Type.Object(
  {
    vmNetworkCIDR: str('IPv4 CIDR of the VM network (masquerade); default 10.0.2.0/24.'),
    vmIPv6NetworkCIDR: str('IPv6 CIDR of the VM network (masquerade); default fd10:0:2::/120.'),
  },
  { description: 'The pod network (the default network of the launcher pod).' },
);

export const NetworkSchema = Type.Object(
  {
    name: Type.String({ description: 'Network name; interfaces refer to it by this name.' }),
    pod: Type.Optional(PodNetworkSchema),
    multus: Type.Optional(MultusNetworkSchema),
  },
  { description: 'A network the VM connects to: the pod network or a Multus network attachment.' },
);

// --- disks and volumes -------------------------------------------------------------------------------------------

const bus = str('Bus of the emulated device: virtio, sata, scsi or usb.');
export const DiskSchema = Type.Object(
  {
    name: Type.String({ description: 'Name of the disk; matches a volume.' }),
    disk: Type.Optional(
      Type.Object(
        {
          bus,
          readonly: bool('Read-only (default false).'),
          pciAddress: str('PCI address of the disk in the guest, e.g. 0000:81:01.10.'),
        },
        { description: 'Attach the volume as a disk.' },
      ),
    ),
    lun: Type.Optional(
      Type.Object(
        {
          bus,
          readonly: bool('Read-only (default false).'),
          reservation: bool('Support SCSI persistent reservation.'),
        },
        { description: 'Attach the volume as a LUN.' },
      ),
    ),
    cdrom: Type.Optional(
      Type.Object(
        {
          bus,
          readonly: bool('Read-only (default true).'),
          tray: str('open or closed (default).'),
        },
        { description: 'Attach the volume as a CD-ROM.' },
      ),
    ),
    bootOrder: int('Boot order (1 is first; unique among disks and interfaces).'),
    serial: str('Serial number of the disk.'),
    dedicatedIOThread: bool('Give the disk its own IO thread.'),
    cache: str('Cache mode: none, writethrough or writeback.'),
    io: str('IO mode: native, threads or default.'),
    tag: str('A tag passed to the guest with the device address (config drive metadata).'),
    blockSize: kept('Logical and physical block sizes presented to the guest.', {
      custom: kept('Custom block sizes.', {
        logical: int('Logical block size.'),
        physical: int('Physical block size.'),
      }),
      matchVolume: kept('Take the block sizes from the volume.', { enabled: bool('Enabled.') }),
    }),
    shareable: bool('Let several VMs write the disk.'),
    errorPolicy: str('On a disk error: stop (default), ignore, report or enospace.'),
  },
  { description: 'A disk of the guest; its volume has the same name.' },
);

const claimName = Type.String({ description: 'Name of the PersistentVolumeClaim.' });
const claimReadOnly = bool('Mount read-only.');
const cloudInitSource = (description: string) =>
  Type.Optional(
    Type.Object(
      {
        secretRef: localObjectReference('A Secret holding the user data.'),
        userDataBase64: str('User data, base64-encoded.'),
        userData: str('User data, inline.'),
        networkDataSecretRef: localObjectReference('A Secret holding the network data.'),
        networkDataBase64: str('Network data, base64-encoded.'),
        networkData: str('Network data, inline.'),
      },
      { description },
    ),
  );
const volumeLabel = str('Volume label of the disk in the guest (cidata, config-2, OEMDRV, …).');

export const VolumeSchema = Type.Object(
  {
    name: Type.String({ description: 'Name of the volume; disks refer to it by this name.' }),
    containerDisk: Type.Optional(
      Type.Object(
        {
          image: Type.String({ description: 'Image with the disk (here: from the image store).' }),
          imagePullSecret: str('Registry secret for the image.'),
          path: str('Path of the disk file inside the image.'),
          imagePullPolicy: str('Always, Never or IfNotPresent.'),
          hotpluggable: bool('Whether the volume can be hotplugged.'),
        },
        {
          description:
            'A disk image, booted through a copy-on-write overlay that ends with the VMI.',
        },
      ),
    ),
    cloudInitNoCloud: cloudInitSource('A cloud-init NoCloud seed disk.'),
    cloudInitConfigDrive: cloudInitSource('A cloud-init config drive.'),
    dataVolume: Type.Optional(
      Type.Object(
        {
          name: Type.String({ description: 'Name of the DataVolume (and of its PVC).' }),
          hotpluggable: bool('Whether the volume can be hotplugged.'),
        },
        { description: 'A DataVolume: a PVC populated with a disk image.' },
      ),
    ),
    persistentVolumeClaim: Type.Optional(
      Type.Object(
        { claimName, readOnly: claimReadOnly, hotpluggable: bool('Whether it can be hotplugged.') },
        { description: 'A PersistentVolumeClaim in the same namespace.' },
      ),
    ),
    ephemeral: Type.Optional(
      Type.Object(
        {
          persistentVolumeClaim: Type.Optional(
            Type.Object(
              { claimName, readOnly: claimReadOnly },
              { description: 'The claim the overlay is made on.' },
            ),
          ),
        },
        { description: 'A copy-on-write overlay on a PersistentVolumeClaim.' },
      ),
    ),
    emptyDisk: Type.Optional(
      Type.Object(
        { capacity: quantity('Capacity of the sparse disk.') },
        { description: 'A blank disk that lives as long as the VMI.' },
      ),
    ),
    hostDisk: Type.Optional(
      Type.Object(
        {
          path: Type.String({ description: 'Path of the disk image on the host.' }),
          type: Type.String({ description: 'Disk or DiskOrCreate.' }),
          capacity: Type.Optional(quantity('Capacity of a created disk.')),
          shared: bool('Whether the path is shared between nodes.'),
        },
        { description: 'A disk image on the host.' },
      ),
    ),
    configMap: Type.Optional(
      Type.Object(
        {
          name: str('Name of the ConfigMap.'),
          optional: bool('Whether the ConfigMap must exist.'),
          volumeLabel,
        },
        { description: 'A ConfigMap as a disk.' },
      ),
    ),
    secret: Type.Optional(
      Type.Object(
        {
          secretName: str('Name of the Secret.'),
          optional: bool('Whether the Secret must exist.'),
          volumeLabel,
        },
        { description: 'A Secret as a disk.' },
      ),
    ),
    serviceAccount: Type.Optional(
      Type.Object(
        { serviceAccountName: str('Name of the ServiceAccount.') },
        { description: 'A ServiceAccount token as a disk.' },
      ),
    ),
    sysprep: Type.Optional(
      Type.Object(
        {
          secret: localObjectReference('A Secret with autounattend.xml.'),
          configMap: localObjectReference('A ConfigMap with autounattend.xml.'),
        },
        { description: 'A Windows sysprep answer file as a CD-ROM.' },
      ),
    ),
    downwardAPI: Type.Optional(
      Type.Object(
        {
          fields: listOf(
            'Downward API files.',
            Type.Object(
              { path: Type.String({ description: 'Path of the file.' }) },
              {
                description: 'A downward API file (fieldRef, resourceFieldRef, mode).',
                ...PRESERVE,
              },
            ),
          ),
          volumeLabel,
        },
        { description: 'Downward API data about the pod as a disk.' },
      ),
    ),
    downwardMetrics: empty('Host and guest metrics as a small disk (vhostmd format).'),
    memoryDump: Type.Optional(
      Type.Object(
        { claimName, readOnly: claimReadOnly, hotpluggable: bool('Whether it can be hotplugged.') },
        { description: 'A PersistentVolumeClaim that receives a memory dump of the VMI.' },
      ),
    ),
  },
  { description: 'A volume: where a disk of the same name comes from (exactly one source).' },
);

// --- domain ------------------------------------------------------------------------------------------------------

export const DevicesSchema = Type.Object(
  {
    interfaces: mapListOf(
      'Network interfaces of the guest; each names a network in spec.networks.',
      InterfaceSchema,
    ),
    disks: mapListOf('Disks of the guest; each names a volume.', DiskSchema),
    autoattachPodInterface: bool(
      'Whether the pod network is attached when no interface is listed (default true).',
    ),
    autoattachGraphicsDevice: bool('Whether a graphics device (VNC) is attached (default true).'),
    autoattachSerialConsole: bool('Whether a serial console is attached (default true).'),
    logSerialConsole: bool('Whether the serial console is logged.'),
    autoattachMemBalloon: bool('Whether a memory balloon is attached (default true).'),
    autoattachInputDevice: bool('Whether an input device is attached (default false).'),
    autoattachVSOCK: bool('Whether a VSOCK device is attached (default false).'),
    useVirtioTransitional: bool('Use legacy virtio 0.9 devices.'),
    disableHotplug: bool('Disable disk hotplug.'),
    blockMultiQueue: bool('Virtio multi-queue for block devices.'),
    networkInterfaceMultiqueue: bool('Virtio multi-queue for network devices.'),
    watchdog: kept('A watchdog device (name, i6300esb).'),
    inputs: listOf(
      'Input devices.',
      Type.Object({}, { description: 'An input device.', ...PRESERVE }),
    ),
    rng: kept('A random number generator from the host.'),
    gpus: listOf('GPUs.', Type.Object({}, { description: 'A GPU.', ...PRESERVE })),
    hostDevices: listOf(
      'Host devices.',
      Type.Object({}, { description: 'A host device.', ...PRESERVE }),
    ),
    filesystems: listOf(
      'Filesystems (virtiofs).',
      Type.Object({}, { description: 'A filesystem.', ...PRESERVE }),
    ),
    downwardMetrics: kept('Downward metrics over virtio-serial.'),
    clientPassthrough: kept('Client devices passed through (USB redirection).'),
    sound: kept('An emulated sound device.'),
    tpm: kept('An emulated TPM.', { persistent: bool('Keep the TPM state across restarts.') }),
    video: kept('The video device.', { type: str('Video device type.') }),
    panicDevices: listOf(
      'Panic devices.',
      Type.Object({}, { description: 'A panic device.', ...PRESERVE }),
    ),
  },
  { description: 'Devices of the guest.' },
);

export const DomainSchema = Type.Object(
  {
    devices: DevicesSchema,
    cpu: kept('CPU topology and model.', {
      cores: int('Cores per socket.'),
      sockets: int('Sockets.'),
      threads: int('Threads per core.'),
      model: str('CPU model, e.g. host-model.'),
    }),
    memory: kept('Memory of the guest.', {
      guest: Type.Optional(quantity('Memory the guest sees, e.g. 1Gi.')),
    }),
    resources: kept('Resources requested for and limited to the launcher pod.', {
      requests: Type.Optional(quantityMap('Requested resources (cpu, memory).')),
      limits: Type.Optional(quantityMap('Resource limits (cpu, memory).')),
    }),
    machine: kept('Machine type.', { type: str('QEMU machine type, e.g. q35.') }),
    firmware: kept('Firmware of the guest (BIOS or EFI, serial, uuid).', {
      uuid: str('UUID the guest reads through SMBIOS.'),
      serial: str('Serial number the guest reads through SMBIOS.'),
    }),
    clock: kept('Clock offset and timers.'),
    features: kept('Hypervisor features (acpi, apic, hyperv, smm, …).'),
    ioThreadsPolicy: str('IO threads for disks: shared or auto.'),
    ioThreads: kept('IO thread pool settings.'),
    chassis: kept('Chassis information passed to the guest.'),
    launchSecurity: kept('Launch security (AMD SEV).'),
  },
  { description: 'The guest hardware: CPU, memory, devices, firmware.' },
);

// --- VMI and VM spec ---------------------------------------------------------------------------------------------

const vmiSpecProperties = {
  domain: DomainSchema,
  networks: mapListOf('Networks the guest connects to; each interface names one.', NetworkSchema),
  volumes: mapListOf('Volumes the disks are backed by.', VolumeSchema),
  nodeSelector: Type.Optional(stringMap('Labels a node must have to run the guest.')),
  affinity: kept('Scheduling affinity rules (as a Pod has).'),
  tolerations: listOf('Tolerations (as a Pod has).', Type.Object({}, { ...PRESERVE })),
  topologySpreadConstraints: listOf(
    'How instances spread across topology domains.',
    Type.Object({}, { ...PRESERVE }),
  ),
  schedulerName: str('The scheduler to dispatch the instance.'),
  priorityClassName: str('Priority class of the launcher pod.'),
  evictionStrategy: str(
    'What happens on node drain: None, LiveMigrate, LiveMigrateIfPossible, External.',
  ),
  startStrategy: str('Paused starts the guest paused.'),
  terminationGracePeriodSeconds: int('Seconds the guest gets to shut down.', 'int64'),
  livenessProbe: kept('Liveness probe of the guest.'),
  readinessProbe: kept('Readiness probe of the guest.'),
  hostname: str("The guest's hostname."),
  subdomain: str('The DNS subdomain of the guest.'),
  dnsPolicy: str('DNS policy of the launcher pod.'),
  dnsConfig: kept('DNS settings of the launcher pod.'),
  accessCredentials: listOf(
    'SSH keys and passwords to inject into the guest.',
    Type.Object({}, { description: 'An access credential.', ...PRESERVE }),
  ),
  architecture: str('Guest architecture, e.g. amd64.'),
  resourceClaims: listOf('Dynamic resource claims.', Type.Object({}, { ...PRESERVE })),
};

export const VmiSpecSchema = Type.Object(vmiSpecProperties, {
  description: 'What the guest runs: hardware, networks and volumes.',
});

const matcher = (description: string) =>
  Type.Optional(
    Type.Object(
      {
        name: str('Name of the instance type or preference.'),
        kind: str('Its kind (cluster-wide or namespaced).'),
        revisionName: str('The ControllerRevision that captured it.'),
        inferFromVolume: str('A volume to infer it from.'),
        inferFromVolumeFailurePolicy: str('Reject (default) or Ignore.'),
      },
      { description },
    ),
  );

export const VmSpecSchema = Type.Object(
  {
    template: Type.Object(
      {
        metadata: kept('Labels and annotations copied to the VirtualMachineInstance.', {
          labels: Type.Optional(stringMap('Labels.')),
          annotations: Type.Optional(stringMap('Annotations.')),
        }),
        spec: defaulted(VmiSpecSchema),
      },
      { description: 'The template of the VirtualMachineInstance that runs the VM.' },
    ),
    runStrategy: Type.Optional(
      oneOf<RunStrategy>(
        'When the VM runs: Always, Halted, Manual, RerunOnFailure or Once. Replaces spec.running.',
      ),
    ),
    running: bool(
      'Legacy: true runs the VM (Always), false stops it (Halted). Mutually exclusive with runStrategy.',
    ),
    instancetype: matcher('An instance type the VM takes its resources from (kept).'),
    preference: matcher('A preference the VM takes its defaults from (kept).'),
    dataVolumeTemplates: listOf(
      'DataVolumes created with the VM and owned by it (deleted with it unless their ownerReference is removed).',
      DataVolumeTemplateSchema,
    ),
    updateVolumesStrategy: str('How volume updates apply: Replacement or Migration.'),
  },
  {
    description:
      'The desired state of the VirtualMachine: whether it runs, and the template of its instances.',
  },
);

// --- status ------------------------------------------------------------------------------------------------------

/** A line of the guest's configuration naming its MAC (found by a read-only search through guest-exec). */
export const GuestMacSettingSchema = Type.Object(
  {
    path: Type.String({ description: 'The file in the guest.' }),
    line: Type.Integer({ description: 'The line number.' }),
    text: Type.String({ description: 'The line.' }),
  },
  {
    description: "With GuestOSConfiguration: the guest's configuration line that sets the MAC.",
    ...PRESERVE,
  },
);

export const GuestMacRemedySchema = open('One remedy.', {
  action: oneOf<'restore-mac' | 'adopt-guest-mac'>(
    "restore-mac (restart: the guest gets the platform MAC again) or adopt-guest-mac (the guest's MAC into the manifest), subresources.harrow.io/v1.",
  ),
  macAddress: Type.String({ description: "The interface's MAC once applied." }),
  available: Type.Boolean({
    description:
      'Whether it is offered now (adopt: no other VM holds the MAC; restore: the guest OS does not set it at boot, so a restart would bring the same drift back).',
  }),
  takesEffect: oneOf<'now' | 'next-restart'>('now (a restart) or next-restart.'),
});

/** Harrow: a spec interface whose guest uses a MAC other than the platform's. */
export const GuestMacMismatchSchema = open(
  "Harrow: set while the guest uses a MAC other than the platform's; messages are rendered from it.",
  {
    platformMac: Type.String({
      description:
        "The pod interface's MAC (what the spoof check lets through and the DHCP lease is bound to).",
    }),
    guestMac: Type.String({ description: 'The MAC the guest uses.' }),
    since: Type.String({ description: 'When the observer first saw it.', format: 'date-time' }),
    cause: oneOf<'GuestChangedMAC' | 'GuestOSConfiguration'>(
      "Why they differ: GuestChangedMAC (the guest set its NIC's MAC itself; the platform never changes a running NIC's MAC), or GuestOSConfiguration when the drift survived a restart (the guest's OS sets it at every boot: ifupdown hwaddress, a systemd .link MACAddress=, netplan or cloud-init macaddress:).",
    ),
    setBy: Type.Optional(GuestMacSettingSchema),
    heldBy: Type.Optional(
      variants(
        'Another VM holding the guest MAC in the pool (named only when in the same namespace).',
        [
          Type.Object({
            namespace: Type.Unsafe<'same'>(Type.String({ description: 'same or other.' })),
            name: Type.String({ description: 'The holder VM, in the same namespace.' }),
            interface: Type.String({ description: "The holder VM's interface." }),
          }),
          Type.Object({
            namespace: Type.Unsafe<'other'>(Type.String({ description: 'same or other.' })),
          }),
        ],
      ),
    ),
    remedies: Type.Array(GuestMacRemedySchema, {
      description: 'What can be done, each one API call on the VM.',
    }),
  },
);

export const VMIInterfaceStatusSchema = open('One interface.', {
  name: str('The spec interface name.'),
  mac: str("The platform's MAC (the pod interface's)."),
  podInterfaceName: str('The interface in the launcher pod.'),
  interfaceName: str('The interface name inside the guest (guest agent).'),
  ipAddress: str('The primary IP address the guest reports.'),
  ipAddresses: listOf('Every IP address the guest reports.', Type.String()),
  infoSource: str('Where the entry comes from: domain, guest-agent, or both.'),
  queueCount: int('Queues of the interface.'),
  linkState: str('up or down.'),
  lease: Type.Optional(
    open("Harrow: the network's DHCP lease for mac, as its DHCP server has it.", {
      ip: Type.String({ description: 'The leased address.' }),
      macAddress: Type.String({ description: 'The MAC it is leased to.' }),
      expires: dateTime('When the lease ends.'),
    }),
  ),
  guestMac: str("Harrow: the MAC the guest's NIC uses (QMP rx-filter)."),
  guestMacMismatch: Type.Optional(GuestMacMismatchSchema),
});

export type VMIPhase =
  'Pending' | 'Scheduling' | 'Scheduled' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

const vmiStatusSchema = open('The observed state of the instance (written by Harrow).', {
  phase: Type.Optional(
    oneOf<VMIPhase>('Pending, Scheduling, Scheduled, Running, Succeeded, Failed or Unknown.'),
  ),
  nodeName: str('The node running the instance.'),
  conditions: conditions('instance (Ready, GuestMACMismatch, …)'),
  interfaces: listOf(
    'The interfaces as the platform and the guest report them.',
    VMIInterfaceStatusSchema,
  ),
  guestOSInfo: kept('The guest OS as its agent reports it.'),
});

export const ConnectivityStepSchema = oneOf<'lease' | 'address' | 'gateway'>(
  "lease (the network's DHCP server holds none for the new MAC), address (the guest agent reports no IP on the interface) or gateway (the guest's ping to its gateway got no answer).",
);

const reason = <R extends string>() => Type.Unsafe<R>(Type.String({ description: 'The cause.' }));
/** Why a guest lost its network over a MAC change, most specific first. */
export const ConnectivityFailureCauseSchema = variants(
  "On failure, the likely cause, as far as Harrow can tell: GuestSetsMAC (the guest's OS sets another MAC, so the spoof check drops its frames), NetworkConfigMatchesOldMAC (the cloud-init network-config still matches the previous MAC), NoAddressLeft (the DHCP range is all leased to other MACs), FixedAddressNotGiven (the interface's fixed address did not follow the new MAC: the guest holds another), NoDHCPClient (nothing in the guest runs a DHCP client on that NIC), AgentNotConnected (the guest agent never answered within the image's boot time).",
  [
    Type.Object({
      reason: reason<'GuestSetsMAC'>(),
      guestMac: Type.String({ description: 'GuestSetsMAC: the MAC the guest uses.' }),
      setBy: Type.Optional(GuestMacSettingSchema),
    }),
    Type.Object({
      reason: reason<'NetworkConfigMatchesOldMAC'>(),
      macAddress: Type.String({
        description: 'NetworkConfigMatchesOldMAC: the old MAC it matches.',
      }),
      field: Type.String({
        description: 'NetworkConfigMatchesOldMAC: the volume field holding the config.',
      }),
      line: Type.Integer({ description: 'The line of the match.' }),
      text: Type.String({ description: 'The line.' }),
    }),
    Type.Object({ reason: reason<'NoAddressLeft'>() }),
    Type.Object({
      reason: reason<'FixedAddressNotGiven'>(),
      fixedAddress: Type.String({
        description:
          'FixedAddressNotGiven: the fixed address (static-ip.harvesterhci.io/<interface>).',
      }),
      leasedAddress: str('FixedAddressNotGiven: the address leased to the new MAC instead.'),
    }),
    Type.Object({
      reason: reason<'NoDHCPClient'>(),
      interfaceName: str('NoDHCPClient: the interface in the guest.'),
    }),
    Type.Object({
      reason: reason<'AgentNotConnected'>(),
      waitedSeconds: Type.Integer({ description: 'AgentNotConnected: how long Harrow waited.' }),
    }),
  ],
);

export const ConnectivityResultSchema = Type.Object(
  {
    ok: Type.Boolean({ description: 'Whether the check passed.' }),
    interface: Type.String({ description: 'The interface checked.' }),
    macAddress: Type.String({ description: 'Its new MAC.' }),
    lease: Type.Optional(
      Type.Unsafe<{ ip: string; macAddress: string } | null>({
        type: 'object',
        nullable: true,
        description: 'The DHCP lease for the new MAC, or null when there is none.',
        properties: { ip: { type: 'string' }, macAddress: { type: 'string' } },
      }),
    ),
    gateway: Type.Optional(
      Type.Object(
        { ip: Type.String(), reachable: Type.Boolean() },
        { description: 'The gateway and whether the guest reached it.' },
      ),
    ),
    fixedAddress: str(
      "The interface's fixed address (static-ip.harvesterhci.io/<interface>), which the lease must be for.",
    ),
    failed: listOf(
      'On failure, the steps that failed, in the order the check takes them.',
      ConnectivityStepSchema,
    ),
    cause: Type.Optional(ConnectivityFailureCauseSchema),
    message: Type.String({ description: 'The outcome in words.' }),
  },
  { description: 'The connectivity check of one interface.', ...PRESERVE },
);

export const ConnectivityCheckStatusSchema = open(
  'Harrow: the last connectivity check after a restart that changed MACs, as data; its condition says it in words.',
  {
    checkedAt: Type.String({ description: 'When the check ended.', format: 'date-time' }),
    passed: Type.Boolean({ description: 'Whether every interface passed.' }),
    results: Type.Array(
      Type.Object(
        {
          ...ConnectivityResultSchema.properties,
          previousMacAddress: Type.String({ description: 'The MAC before the change.' }),
          network: Type.String({ description: 'The network of the interface.' }),
        },
        { description: 'The check of one interface.', ...PRESERVE },
      ),
      { description: 'One per interface whose MAC changed.' },
    ),
  },
);

export const StateChangeRequestSchema = Type.Object(
  {
    action: oneOf<'Start' | 'Stop'>('Start or Stop.'),
    uid: str('The instance the request is about.'),
    data: Type.Optional(stringMap('Data of the request.')),
  },
  { description: 'A pending start or stop.' },
);

export const VirtualMachineStatusSchema = open(
  'The observed state of the VirtualMachine (written by Harrow).',
  {
    printableStatus: str(
      'Stopped, Starting, Running, Stopping, Terminating, CrashLoopBackOff, ErrorUnschedulable, …',
    ),
    ready: bool('Whether its instance is running and ready.'),
    created: bool('Whether its instance exists.'),
    conditions: conditions('VirtualMachine (Ready, RestartRequired, …)'),
    stateChangeRequests: listOf('Pending start and stop requests.', StateChangeRequestSchema),
    connectivityCheck: Type.Optional(ConnectivityCheckStatusSchema),
  },
);

// --- kinds -------------------------------------------------------------------------------------------------------

export const VirtualMachineSchema = kindRoot(
  'VirtualMachine',
  "VirtualMachine (kubevirt.io/v1) handles a virtual machine: its runStrategy decides whether an instance runs; the template is what runs. Harrow assigns and keeps each interface's MAC.",
  { spec: VmSpecSchema, status: Type.Optional(VirtualMachineStatusSchema) },
  { required: ['spec'] },
);

export const VirtualMachineInstanceSchema = kindRoot(
  'VirtualMachineInstance',
  'VirtualMachineInstance (kubevirt.io/v1) is a running virtual machine.',
  { spec: VmiSpecSchema, status: Type.Optional(vmiStatusSchema) },
  { required: ['spec'] },
);
