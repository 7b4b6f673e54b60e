// Every `harrow` command, argument and flag, declared with commander: the parser and the help (`harrow --help`,
// `harrow get --help`, …) both come from these declarations. Each command's code is a module loaded only when that
// command runs, so a short command does not pay for the server, the qemu runtime or the other commands.
import { Option } from 'commander';
import { KINDS } from '../resources/kinds.ts';
import { ROLES } from '../resources/api-token.ts';
import { CONTAINER_GUEST_CONSOLE_LOG } from '../resources/types.ts';
import { DEFAULT_TIMEOUT, type CommandRun } from './command.ts';
import { HarrowCommand } from './harrow-command.ts';

/** Makes a command's action from the loader of its code (the loader runs only when the command does). */
export type Runs = (load: () => Promise<CommandRun>) => (...actionArgs: unknown[]) => Promise<void>;

/** A flag given several times keeps every value (`--mac a=… --mac b=…`). */
const repeatable = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

const timeoutOption = (what: string): Option =>
  new Option('--timeout <DURATION>', `${what} (default ${DEFAULT_TIMEOUT}); 90s, 2m, 1h`);

/** kubectl's --dry-run=STRATEGY; `client` only where the command can say what it would send without the server. */
const dryRunOption = (nothing: string, client: string | undefined): Option =>
  new Option(
    '--dry-run [STRATEGY]',
    `none, server (the server runs every check — admission, MAC validation and reservation — and ${nothing}; ` +
      `the bare flag means server)${client ? `, or client (${client})` : ''}`,
  );

/** Every word `get` takes, one line per kind: the plural first, then its short names. */
const kindWords = (): string =>
  [
    'Types (any of the words):',
    ...KINDS.map((k) => `  ${[k.plural, ...k.shortNames].join(', ')}`),
    '  also: nets/nads (network-attachment-definitions), mac (macallocations), events/event, pod',
  ].join('\n');

const OVERVIEW = 'harrow — VM network identity (MAC addresses) the Harvester/KubeVirt way\n';

const EXIT_CODES =
  "\nExit codes: 0 ok, 1 failure (API error, timeout, failed check), 2 usage; exec exits with the guest's code.\nRun `harrow COMMAND --help` for a command's flags.";

/**
 * The whole command line. `runs` turns a loader into the action (see program.ts); `help` prints a command's help
 * (`harrow help COMMAND`).
 */
export function declareProgram(
  program: HarrowCommand,
  runs: Runs,
  help: (words: string[]) => void,
): HarrowCommand {
  program
    .name('harrow')
    .description(
      'Runs KubeVirt VMs on real QEMU guests and manages their network identity: every MAC validated, reserved ' +
        'cluster-wide, kept across restarts and changed only the proper way.',
    )
    .addHelpText('before', OVERVIEW)
    .addHelpText('after', EXIT_CODES)
    .option('--server <URL>', 'API server (default: from the kubeconfig)')
    .option('--token <TOKEN>', 'bearer token (default: from the kubeconfig)')
    .option(
      '--kubeconfig <PATH>',
      'default: $HARROW_KUBECONFIG, ./.harrow/kubeconfig, ~/.harrow/kubeconfig',
    )
    .option(
      '-n, --namespace <NS>',
      "the namespace a command works in (default: the kubeconfig context's, else default)",
    )
    .option('-A, --all-namespaces', 'every namespace (get, drift)')
    .option(
      '-o, --output <FORMAT>',
      'table (default), json or yaml; get also takes wide (every column) and name (kind.group/name lines)',
    );

  const command = (nameAndArgs: string, summary: string): HarrowCommand =>
    (program.command(nameAndArgs) as HarrowCommand).summary(summary);

  command('serve', 'Run Harrow (API server, controllers, runtime) on this host')
    .description(
      'Runs the API server, the controllers and a runtime in this process, keeping state in DIR (default .harrow). ' +
        'On first start it writes DIR/admin.token and DIR/kubeconfig (mode 0600); DIR/server.json says where it ' +
        'listens. Stops cleanly on SIGINT (Ctrl-C) or SIGTERM.',
    )
    .option('--data-dir <DIR>', 'state directory (default .harrow)')
    .option(
      '--listen <HOST:PORT>',
      'where the API listens (default 127.0.0.1:8080; port 0 picks a free one)',
    )
    .option(
      '--runtime <sim|qemu|auto>',
      'qemu runs real guests (root, QEMU and the guest image needed); sim is the in-process model; auto ' +
        '(default) uses qemu where possible and says why when it falls back to sim',
    )
    .option('--log-level <LEVEL>', 'trace, debug, info (default), warn, error')
    .option('--quarantine-seconds <N>', 'how long a released MAC waits before reuse (default 300)')
    .option('--node-name <NAME>', "this host's node name (default: the hostname)")
    .option(
      '--tls <auto|off>',
      'auto (default): serve HTTPS with a CA made on first start and kept in DIR/pki, named in the kubeconfig ' +
        '(kubectl sends tokens only over TLS); off: plain HTTP, loopback only',
    )
    .option('--demo', 'create a demo namespace, network and VM when absent')
    .option(
      '--rate-limit <N>',
      'requests per second each token may make (default 500; beyond: 429 with Retry-After)',
    )
    .option('--rate-burst <N>', 'requests a token may make at once above the rate (default 1000)')
    .option('--max-watches <N>', 'watches each token may hold open (default 100; beyond: 429)')
    .option(
      '--max-list-limit <N>',
      'the largest list page; a larger ?limit= is lowered to it (default 500, with continue)',
    )
    .option(
      '--request-timeout <SECONDS>',
      'bound on receiving and answering one request (default 60, as kube-apiserver; beyond: 408/504 and the ' +
        'connection closed); watches are exempt (their timeoutSeconds ends them)',
    )
    .option(
      '--no-local-node',
      'control plane only: run no VMs here, schedule them to `harrow agent` nodes',
    )
    .option(
      '--etcd <URL[,URL...]>',
      'keep state in this etcd cluster instead of DIR/harrow.db; run as many replicas as you like on it: all ' +
        'serve the API, the leader (an etcd lease) runs the controllers',
    )
    .option('--etcd-prefix <PREFIX>', 'key prefix in etcd (default /harrow)')
    .option(
      '--global-namespaces <NS,...>',
      'namespaces whose networks (NetworkAttachmentDefinitions) VMs of every namespace may use; others only in ' +
        "their own namespace, as Multus's namespaceIsolation (default: default)",
    )
    .option(
      '--teardown-on-exit',
      'qemu: on stop, stop every guest and remove the namespaces, bridges and state the runtime made (a ' +
        'throwaway host: tests, demos); by default guests keep running (until `harrow down` removes them)',
    )
    .action(runs(() => import('./serve.ts').then((m) => m.runServe)));

  command('agent', 'Run a node agent: register this host as a Node and run the VMs scheduled to it')
    .description(
      "Needs --server URL[,URL…] and the node's own token (--token TOKEN or --token-file PATH, from `harrow " +
        'token create --node NAME`, user system:node:NAME): the agent refuses the admin token, and --node-name ' +
        "must be the token's node.\n\n" +
        'Registers a Node (capacity, addresses), heartbeats, and runs the network plugin, launcher, observer and a ' +
        'runtime for the VMIs the control plane schedules to this node. It talks to the control plane only ' +
        'through the API; given several control-plane replicas (comma-separated --server), it moves on to the ' +
        'next when one does not answer. Stops cleanly on SIGINT (Ctrl-C) or SIGTERM; its VMs keep running until ' +
        'the control plane moves them.',
    )
    .option('--token-file <PATH>', "a file holding the node's token (instead of --token)")
    .option(
      '--certificate-authority <PATH>',
      "PEM CA that signed the control plane's certificate (its DATA_DIR/pki/ca.crt) for https URLs",
    )
    .option('--node-name <NAME>', "the Node's name (default: the hostname)")
    .option('--runtime <sim|qemu>', 'sim (default) or qemu (root, QEMU and the guest image needed)')
    .option('--data-dir <DIR>', "the runtime's state (default .harrow-agent-NAME)")
    .option(
      '--address <IP>',
      "this host's address for the other hosts; repeat for several",
      repeatable,
    )
    .option(
      '--underlay-bridge <BR>',
      "qemu, with --underlay-address: the root-namespace bridge the runtime's host namespace joins through a " +
        "veth; each network's bridge then reaches the other Nodes' through VXLAN",
    )
    .option(
      '--underlay-address <CIDR>',
      "qemu: the host namespace's address on that veth (e.g. 198.19.0.11/24)",
    )
    .option('--cpu <N>', "capacity: CPUs (default: this machine's; on sim no limit)")
    .option('--memory-mib <N>', "capacity: memory (default: this machine's; on sim no limit)")
    .option('--max-vms <N>', 'capacity: VMs (default 100; on sim 10,000)')
    .option(
      '--heartbeat-ms <N>',
      'heartbeat interval (default 5000; the control plane moves VMs after 3 missed)',
    )
    .option('--log-level <LEVEL>', 'trace, debug, info (default), warn, error')
    .option(
      '--teardown-on-exit',
      'qemu: on stop, stop every guest and remove the namespaces, bridges and state the runtime made (a ' +
        'throwaway host: tests, demos); by default guests keep running (`harrow down --data-dir DIR` stops the ' +
        'agent and removes them)',
    )
    .action(runs(() => import('./agent.ts').then((m) => m.runAgent)));

  command(
    'down',
    "Stop a data dir's server and remove every guest, namespace and link its runtime left",
  )
    .description(
      'Stops the `harrow serve` or `harrow agent` of DIR (default .harrow) if one runs (SIGTERM, as Ctrl-C), then ' +
        "removes everything its qemu runtime holds on this host: the guests (QEMU), each network's dnsmasq, the " +
        'pod network namespaces and the host namespace with the bridges, veths, taps, VXLAN links and nftables ' +
        "tables in them, and the runtime's records of those under DIR/qemu. The store, persistent disks and the " +
        'rest of DIR stay: the next `harrow serve` on DIR starts the VMs whose run strategy asks for it again. ' +
        "Run it after the server was killed, or after DIR was deleted (the host objects are named after DIR's " +
        'path), as often as you like: what is gone already is not an error. Prints what it removed. Needs root ' +
        'when there is something to remove (as the qemu runtime does).',
    )
    .option(
      '--data-dir <DIR>',
      'the data dir `harrow serve` ran on (default .harrow); it need not exist any more',
    )
    .option(
      '--instance-id <ID>',
      'the instance to remove when no path names it (see --list); no server or agent is stopped',
    )
    .option(
      '--list',
      'show the instances on this host and what each holds, without removing anything',
    )
    .option(
      '--timeout <DURATION>',
      'how long the server or agent gets to shut down cleanly before SIGKILL (default 60s)',
    )
    .action(runs(() => import('./down.ts').then((m) => m.runDown)));

  command(
    'get',
    'List or show resources of any kind (vm, vmi, vmclone, macs, audit, pods, apitokens, …)',
  )
    .argument('<TYPE>', 'the kind: one of the words below')
    .argument('[NAME]', 'one object (else every one in the namespace)')
    .description(
      "Prints the server's table for the kind: the columns kubectl get shows (KubeVirt's for its kinds, plus " +
        "Harrow's MACs and drift); -o wide adds the wide columns (a VMI's platform and guest MAC, a pod's MACs, " +
        '…); -o json|yaml prints the raw objects.',
    )
    .option('-l, --selector <SELECTOR>', 'label selector, e.g. harrow.io/verb=patch')
    .option(
      '--field-selector <SELECTOR>',
      'field selector, e.g. metadata.name=vm-a or status.phase!=Running (what the server supports for the kind)',
    )
    .option('--vm <VM>', 'audit and events: only those about this VM')
    .addHelpText('after', () => `\n${kindWords()}`)
    .action(runs(() => import('./get.ts').then((m) => m.runGet)));

  command(
    'describe',
    'Show a VM in detail: status, conditions, platform and guest MACs, IPs, lease, events',
  )
    .argument('<TYPE>', 'vm or vmi')
    .argument('<NAME>', "the VM's name")
    .description(
      "Shows the VM's status and conditions (RestartRequired, GuestMACMismatch, ConnectivityCheck, …); per " +
        "interface the manifest MAC, the platform MAC (the pod interface, from the pod's network-status), the " +
        'MAC the guest really uses, its IPs and DHCP lease; the remedies when the guest drifted; and the recent ' +
        'events. With -o json|yaml it prints the VM, its instance, launcher pod and events as one object.',
    )
    .action(runs(() => import('./describe.ts').then((m) => m.runDescribe)));

  command('create', 'Create objects from a YAML or JSON file (-f FILE, - for stdin)')
    .description(
      "Creates every object in FILE (YAML or JSON; several documents separated by ---; a List's items; - reads " +
        'stdin). A manifest that runs on KubeVirt runs here unchanged. Objects without a namespace go to -n ' +
        '(default: default). Each object is created on its own: one failure does not stop the others, but the ' +
        'exit code is then 1.',
    )
    .option('-f, --filename <FILE>', 'a file of manifests, - for stdin (repeatable)', repeatable)
    .addOption(
      dryRunOption('creates nothing', 'print what would be sent, without asking the server'),
    )
    .option(
      '--validate <strict|warn|ignore>',
      "strict (default, as kubectl): a field the kind's schema does not know (a typo such as macAdress) is " +
        'refused naming its path; warn creates the object without it and prints a warning; ignore drops it ' +
        'silently',
    )
    .action(runs(() => import('./create.ts').then((m) => m.runCreate)));

  command('delete', 'Delete objects by type and name, or those in a file (-f)')
    .argument('[TYPE]', 'the kind (as get takes it)')
    .argument('[NAME...]', 'the objects to delete')
    .description(
      "Deletes the named objects (e.g. harrow delete vm vm-a), or those a file describes (-f). A VM's MACs are " +
        'released into quarantine, not reused at once.',
    )
    .option(
      '-f, --filename <FILE>',
      'delete the objects in FILE, - for stdin (repeatable)',
      repeatable,
    )
    .addOption(dryRunOption('deletes nothing', 'check that each object exists, delete nothing'))
    .action(runs(() => import('./create.ts').then((m) => m.runDelete)));

  const change = (c: HarrowCommand, restarts: string): HarrowCommand =>
    c
      .option('--restart', restarts)
      .option(
        '--wait',
        'wait until the instance has the new MAC, then print the connectivity check (DHCP lease for the new ' +
          'MAC, gateway reachable); exit code 1 when it fails',
      )
      .addOption(timeoutOption('how long --wait waits'))
      .addOption(dryRunOption('changes nothing', undefined));

  change(
    command(
      'set-mac',
      "Change a VM interface's MAC the proper way: manifest → restart → connectivity check",
    )
      .argument('<VM>', "the VM's name")
      .argument('<IFACE>', 'the interface (spec.template.spec.domain.devices.interfaces[].name)')
      .argument('<MAC>', 'the new MAC (02:00:00:00:00:42, 02-00-00-00-00-42 or 0200.0000.0042)')
      .description(
        'Sets spec.template.spec.domain.devices.interfaces[IFACE].macAddress (a JSON patch that tests the old ' +
          'value, so a concurrent change is not overwritten). Harrow validates the MAC and reserves it ' +
          'cluster-wide; a MAC in use elsewhere is refused with the holder named. A running VM then needs a ' +
          'restart to take the new MAC (RestartRequired).',
      ),
    'restart the VM now so the new MAC applies',
  ).action(runs(() => import('./set-mac.ts').then((m) => m.runSetMac)));

  for (const action of ['start', 'stop', 'restart'] as const) {
    const what = { start: 'Start', stop: 'Stop', restart: 'Restart' }[action];
    const waitsFor =
      action === 'stop'
        ? 'Stopped'
        : `Running with its guest agent connected${action === 'restart' ? ' (a new instance)' : ''}, so exec works`;
    const c = command(action, `${what} a VM (KubeVirt's ${action} subresource)`)
      .argument('<VM>', "the VM's name")
      .description(
        `${what}s the VM through /apis/subresources.kubevirt.io/v1/…/virtualmachines/VM/${action}.`,
      )
      .option('--wait', `wait until it is ${waitsFor} (a progress line shows on a terminal)`)
      .addOption(timeoutOption('how long --wait waits; exit code 1 when it runs out'));
    if (action === 'restart')
      c.option(
        '--in-window',
        "do not restart now: plan the restart for the VM's maintenance window (its own or its namespace's, see " +
          'harrow window); it happens when the window next opens, or now if it is open',
      ).option('--cancel', 'drop a restart planned with --in-window');
    c.action(runs(() => import('./power.ts').then((m) => m.powerRun(action))));
  }

  const window = command('window', 'Set, show or clear the maintenance window of a VM or namespace')
    .description(
      'A maintenance window is a recurring time when restarts may happen: a 5-field cron expression for when it ' +
        "opens (minute hour day-of-month month day-of-week, e.g. '0 2 * * SUN'), how long it stays open and an " +
        'IANA time zone. It lives in the harrow.io/maintenance-window annotation of a VM or of its namespace; ' +
        "the VM's own window wins. Plan a restart into the window with `harrow restart VM --in-window`; cancel " +
        'it with `harrow restart VM --cancel`.',
    )
    .subcommandRequired();
  (window.command('set') as HarrowCommand)
    .summary('set the window of VM, or with --namespace-wide of the namespace (-n)')
    .description(
      'Sets the maintenance window of VM, or with --namespace-wide of the namespace (-n); prints when it next ' +
        'opens.',
    )
    .argument('[VM]', "the VM's name (or --namespace-wide)")
    .option('--namespace-wide', "set the namespace's window instead of a VM's")
    .option(
      '--schedule <CRON>',
      "when the window opens: '0 2 * * SUN', '30 1 1 * *', '@daily'; names like MON or JAN work",
    )
    .option('--duration <D>', 'how long it stays open: 90m, 2h, 1h30m')
    .option('--time-zone <ZONE>', 'e.g. Europe/Berlin (default UTC)')
    .action(runs(() => import('./window.ts').then((m) => m.runWindow)));
  (window.command('show') as HarrowCommand)
    .summary("the namespace's window and every VM's own window and planned restart")
    .description(
      "Shows the namespace's window and every VM's own window and planned restart; with VM, which window " +
        'applies to it, when it next opens and the restart planned for it.',
    )
    .argument('[VM]', "the VM's name")
    .action(runs(() => import('./window.ts').then((m) => m.runWindow)));
  (window.command('clear') as HarrowCommand)
    .summary("remove VM's own window (it falls back to the namespace's), or the namespace's")
    .description(
      "Removes VM's own window (it falls back to the namespace's), or with --namespace-wide the namespace's " +
        'window (-n).',
    )
    .argument('[VM]', "the VM's name (or --namespace-wide)")
    .option('--namespace-wide', "clear the namespace's window instead of a VM's")
    .action(runs(() => import('./window.ts').then((m) => m.runWindow)));

  const drift = command(
    'drift',
    'List VMs whose guest changed its MAC; restore or adopt (drift restore|adopt VM)',
  )
    .description(
      "Lists every running VM whose guest uses a MAC other than the platform's (the pod interface's): the spoof " +
        "check drops the guest's frames, and a restart would revert the change anyway. For each: VM, interface, " +
        'platform MAC, guest MAC and the two remedies, `drift restore` and `drift adopt`.',
    )
    .action(runs(() => import('./drift.ts').then((m) => m.runDrift)));
  (drift.command('restore') as HarrowCommand)
    .summary('restart the VM: the guest gets the platform MAC again')
    .description(
      'Restarts the VM through the restore-mac subresource: the guest gets the platform MAC again on every ' +
        'interface.',
    )
    .argument('<VM>', "the VM's name")
    .option('--wait', 'wait until the VM runs again with the platform MACs')
    .addOption(timeoutOption('how long --wait waits'))
    .action(runs(() => import('./drift.ts').then((m) => m.runDrift)));
  change(
    (drift.command('adopt') as HarrowCommand)
      .summary("make the guest's MAC the manifest MAC, applied on restart")
      .description(
        "Makes the guest's MAC the manifest MAC (validated and reserved like any MAC; every drifted interface, " +
          'or the IFACEs named), applied on restart — now with --restart; --wait also waits for the connectivity ' +
          'check.',
      )
      .argument('<VM>', "the VM's name")
      .argument('[IFACE...]', 'the interfaces to adopt (default: every drifted one)'),
    'restart the VM now so the adopted MAC applies',
  ).action(runs(() => import('./drift.ts').then((m) => m.runDrift)));

  command(
    'clone',
    'Clone a VM (VirtualMachineClone): its spec, never its MACs — new ones from the pool unless given',
  )
    .argument('<SOURCE>', 'the VM to copy')
    .argument('<TARGET>', 'the new VM')
    .description(
      "Creates a VirtualMachineClone (clone.kubevirt.io/v1beta1) that makes VM TARGET from VM SOURCE's spec — a " +
        'running SOURCE too: its spec is copied, not its state. The clone never inherits a MAC nor an annotation ' +
        'that remembers one: each interface gets a fresh MAC from the MAC pool, reserved cluster-wide, unless ' +
        '--mac gives it (validated and reserved like any MAC; one already in use is refused naming its holder). ' +
        "TARGET keeps SOURCE's runStrategy, so it starts if SOURCE's would. Waits for the clone to finish and " +
        "prints TARGET's MACs.",
    )
    .option('--mac <IFACE=MAC>', 'the MAC for interface IFACE (repeatable)', repeatable)
    .option('--wait', 'also wait until TARGET runs (when its runStrategy starts it)')
    .addOption(timeoutOption('how long to wait'))
    .action(runs(() => import('./clone.ts').then((m) => m.runClone)));

  command('exec', 'Run a command inside the guest (guest agent guest-exec)')
    .argument('<VM>', "the VM's name")
    .argument(
      '[COMMAND...]',
      'the command and its arguments, after -- (flags after -- go to the command)',
    )
    .usage('[options] <VM> -- COMMAND [ARG...]')
    .description(
      "Runs COMMAND in the VM's guest through the guest agent and prints its stdout and stderr; the exit code is " +
        "the guest's. Example (what a user inside the guest might do):\n" +
        '  harrow exec vm-a -- ip link set eth0 address 02:00:00:00:00:99',
    )
    .option('--timeout <DURATION>', 'how long the command may run (default 60s)')
    .action(runs(() => import('./exec.ts').then((m) => m.runExec)));

  command('console', "Connect to a VM's serial console (Ctrl-] to leave)")
    .argument('<VM>', "the VM's name")
    .description(
      "Attaches this terminal to the serial console (ttyS0) of the VM's running instance through KubeVirt's " +
        'console subresource (a WebSocket). Keys go to the guest as typed (the terminal is put in raw mode); ' +
        'press Ctrl-] to leave. As in KubeVirt, one console connection per VM types at a time: a second ' +
        "`harrow console` (or the web UI's console) takes over and this one ends with a message. Press Enter to " +
        'see the login prompt.',
    )
    .action(runs(() => import('./console.ts').then((m) => m.runConsole)));

  command('logs', "Print a VM's serial console log (--console)")
    .argument('<TYPE>', 'vm or vmi')
    .argument('<NAME>', "the VM's name")
    .description(
      "Prints the newest serial console output of the VM's running instance (the last 1 MiB is kept per " +
        "instance, whether or not anyone is attached). It is the launcher pod's " +
        `${CONTAINER_GUEST_CONSOLE_LOG} container log, as in KubeVirt:\n` +
        `  kubectl logs virt-launcher-NAME-xxxxx -c ${CONTAINER_GUEST_CONSOLE_LOG}`,
    )
    .option('--console', 'the serial console log (the one log Harrow keeps per VM)')
    .option('--tail <N>', 'only the last N lines')
    .action(runs(() => import('./logs.ts').then((m) => m.runLogs)));

  const image = command(
    'image',
    'Build guest images and manage the local image store (import, list, delete)',
  )
    .alias('images')
    .description(
      'The image store is --image-dir, else $HARROW_IMAGE_DIR, else ~/.cache/harrow/images (shared by every ' +
        'Harrow on this host); the server lists its images as VirtualMachineImage (harrow.io/v1) objects.',
    )
    .subcommandRequired();
  const imageDir = (c: HarrowCommand): HarrowCommand =>
    c.option(
      '--image-dir <DIR>',
      'the image store (default $HARROW_IMAGE_DIR, else ~/.cache/harrow/images)',
    );
  imageDir(
    (image.command('build') as HarrowCommand)
      .summary("build the qemu runtime's busybox image, or a Debian 12 disk")
      .argument('[KIND]', 'busybox (default) or debian')
      .description(
        "busybox (the default): the qemu runtime's fast boot image (kernel + busybox initramfs with the guest " +
          'agent) from the installed Debian packages into DIR/guest.\n\n' +
          'debian: a Debian 12 disk (systemd, ifupdown + isc-dhcp-client, cloud-init, qemu-guest-agent, ' +
          "openssh-server) from Debian's packages with mmdebstrap, into the image store as debian-12 with the " +
          'aliases quay.io/containerdisks/debian:12 and debian:12. root logs in on the serial console without a ' +
          'password. An identical build (same recipe and package versions) is reused.',
      )
      .option(
        '--data-dir <DIR>',
        'busybox: the data dir whose guest/ it goes to (default .harrow)',
      ),
  ).action(runs(() => import('./image.ts').then((m) => m.runImage)));
  imageDir(
    (image.command('import') as HarrowCommand)
      .summary('copy a raw or qcow2 disk into the store')
      .argument('<NAME>', 'the name manifests use (containerDisk.image)')
      .argument('<FILE>', 'a raw or qcow2 disk')
      .description('Copies a raw or qcow2 disk into the store.')
      .option('--alias <REF>', 'another name manifests may use (repeatable)', repeatable)
      .option(
        '--boot <firmware|kernel>',
        "firmware (default): its own boot loader; kernel: the host's cloud kernel, root=/dev/vda",
      )
      .option(
        '--boot-timeout <SECONDS>',
        'how long its guests may take to reach their agent and DHCP lease (what the connectivity check after a ' +
          'MAC change waits; default 900 s for an OS on a disk)',
      ),
  ).action(runs(() => import('./image.ts').then((m) => m.runImage)));
  imageDir(
    (image.command('list') as HarrowCommand)
      .summary('the images in the store: name, format, size, boot, aliases')
      .description('Lists the images in the store (-o json for every field).'),
  ).action(runs(() => import('./image.ts').then((m) => m.runImage)));
  imageDir(
    (image.command('delete') as HarrowCommand)
      .summary('remove an image from the store')
      .argument('<NAME>', "the image's name")
      .description('Removes an image from the store.'),
  ).action(runs(() => import('./image.ts').then((m) => m.runImage)));

  command(
    'fsck',
    'Check the store: every MAC held by exactly one allocation of the right VM, no orphans; --repair what is safe',
  )
    .description(
      'Checks that every MAC a VM manifest carries is held by exactly one MacAllocation naming that VM and ' +
        'interface, that no allocation is in use by nothing (manifest, instance or launcher pod), that no MAC is ' +
        'held twice, that every VMI has its VM and every launcher Pod its VMI. Prints each problem and what ' +
        '--repair would do; exits 0 when clean, 1 otherwise. -o json|yaml prints {check, ok, problems: [{kind, ' +
        'name, message, …}]}, the shape audit verify prints too.',
    )
    .option(
      '--data-dir <DIR>',
      'read the store in DIR directly (offline); without it, check through the API (read only)',
    )
    .option(
      '--repair',
      'with --data-dir, while no server runs on it: create a missing allocation when its MAC is free, give an ' +
        'allocation to the VM whose manifest carries it when no other VM uses it, quarantine an allocation ' +
        'nothing uses, delete VMIs without their VM and launcher pods without their VMI. A MAC two VMs claim is ' +
        'never reassigned: it is reported for a person to decide. Each repair is one atomic write with an ' +
        'AuditRecord (user system:harrow-fsck).',
    )
    .action(runs(() => import('./fsck.ts').then((m) => m.runFsck)));

  command('export', 'Write a VM (or another object) as a manifest kubectl and KubeVirt accept')
    .argument('<TYPE>', 'vm, or another kind get takes')
    .argument('<NAME>', "the object's name")
    .description(
      'Writes the manifest of a VM (YAML, or -o json): apiVersion, kind, metadata (name, namespace, labels, ' +
        'annotations) and its spec with every field, even ones Harrow does not act on. Server-set fields (uid, ' +
        'resourceVersion, generation, creationTimestamp, managedFields, ownerReferences, finalizers, status) and ' +
        'bookkeeping annotations are left out.\n\n' +
        'MACs are kept: the export is the VM as it is, for a backup or a move. Creating it while the source still ' +
        'holds its MACs is refused (409, naming the holder), as MACs are unique cluster-wide. For a copy next to ' +
        'the source, use --without-macs: each interface then gets a new MAC from the pool, as a clone does.',
    )
    .option('--without-macs', "leave out every interface's macAddress (the copy gets new ones)")
    .option(
      '--without-namespace',
      'leave out metadata.namespace (create it with kubectl create -n NS)',
    )
    .action(runs(() => import('./export.ts').then((m) => m.runExport)));

  const audit = command(
    'audit',
    "Verify the audit log's hash chain: names any record altered, removed or reordered",
  ).subcommandRequired();
  (audit.command('verify') as HarrowCommand)
    .summary('walk the chain: exit 0 when intact, 1 otherwise')
    .description(
      'Each AuditRecord carries spec.sequence, spec.previousHash and spec.hash (SHA-256 of its canonical JSON and ' +
        'the previous hash), assigned by the store in commit order; on etcd each replica keeps a chain of its own ' +
        '(named in spec.chain). verify walks every chain in sequence order and reports each record whose content ' +
        'no longer matches its hash (altered), whose predecessor is missing (removed) or is not the one it was ' +
        'chained to (reordered). Exits 0 when every chain is intact, 1 otherwise.',
    )
    .option(
      '--data-dir <DIR>',
      'read the store in DIR directly (works with the server stopped, or beside it) and also check the chain ' +
        'heads, which catch removal of the newest records; without it, read through the API (admin)',
    )
    .option(
      '--etcd <URL[,URL...]>',
      'read the records and every chain head straight from this etcd cluster (as --data-dir does for SQLite)',
    )
    .option(
      '--etcd-prefix <PREFIX>',
      'with --etcd: the key prefix the servers use (default /harrow)',
    )
    .action(runs(() => import('./audit.ts').then((m) => m.runAudit)));

  const token = command(
    'token',
    'Create, list and revoke API tokens with a role (admin, operator, viewer; node for agents)',
  )
    .alias('tokens')
    .description(
      "Users' API tokens (admins only). The user sends one as `Authorization: Bearer TOKEN` (or harrow --token " +
        'TOKEN). Roles:\n' +
        '  admin      everything\n' +
        '  operator   VMs, VMIs, clones and their actions (start/stop/restart, guest-exec) in the namespaces\n' +
        '             given, and reads of their NADs, pods, events, audit records and MAC allocations\n' +
        '  viewer     reads in the namespaces given (interfacelist included, guest-exec not)\n' +
        "  node       (--node NODE) what node NODE's agent needs: its own Node, the pods and VMIs scheduled to\n" +
        '             it and their status, the status of their VMs, its events and audit records, reads of NADs;\n' +
        "             user system:node:NODE. The control plane reaches that agent's API with a credential\n" +
        '             derived from this token, never with the admin token.\n' +
        'The bootstrap admin token (<data-dir>/admin.token) is not listed.',
    )
    .subcommandRequired();
  (token.command('create') as HarrowCommand)
    .summary('mint a token and print it once (only its SHA-256 is stored)')
    .description(
      "Mints a token, stores only its SHA-256 as an ApiToken named by the token's id, and prints the token once " +
        'on stdout — keep it, it cannot be shown again. operator and viewer need --namespaces (a token is not in ' +
        'a namespace, so -n is refused here: it picks the namespace a command works in). With --node NODE it ' +
        'makes a node token: run `harrow agent --node-name NODE --token-file FILE` with it.',
    )
    .option('--user <NAME>', 'who the token is for')
    .option('--role <ROLE>', ROLES.filter((r) => r !== 'node').join(', '))
    .option('--namespaces <NS[,NS...]>', 'the namespaces an operator or viewer token may use')
    .option(
      '--node <NODE>',
      "a node agent's token (user system:node:NODE), instead of --user/--role",
    )
    .action(runs(() => import('./token.ts').then((m) => m.runToken)));
  (token.command('list') as HarrowCommand)
    .summary('ID, user, role, namespaces, age — never a token')
    .description('Lists the tokens: ID, user, role, namespaces and age — never a token.')
    .action(runs(() => import('./token.ts').then((m) => m.runToken)));
  (token.command('revoke') as HarrowCommand)
    .summary('delete a token: the next request with it gets 401')
    .argument('<ID>', "the token's id (token list)")
    .description(
      'Deletes the record: the next request with the token is refused (401) and its open watches end.',
    )
    .action(runs(() => import('./token.ts').then((m) => m.runToken)));

  (program.command('help') as HarrowCommand)
    .summary("Print a command's help (help COMMAND [SUBCOMMAND])")
    .argument('[COMMAND...]', 'the command, and its subcommand')
    .action((words: string[]) => help(words));

  return program;
}
