// The guest's boot scripts (busybox): /init, inittab, DHCP client hook, guest-agent launcher, ACPI power button.

/** Load order of the kernel modules the guest needs (dependencies first); the cloud kernel builds them as modules. */
export const GUEST_MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_legacy_dev',
  'virtio_pci_modern_dev',
  'virtio_pci',
  'failover',
  'net_failover',
  'virtio_net',
  'virtio_console',
  // Disks (virtio-blk): a VM's volumes appear as /dev/vda, /dev/vdb, … (a persistent disk keeps what is written there).
  'virtio_blk',
  // The ACPI power button (QMP system_powerdown) reaches busybox acpid through evdev.
  'evdev',
  'button',
] as const;

export const GUEST_MODULE_DIR = '/lib/modules/harrow';
export const GUEST_AGENT_PORT = 'org.qemu.guest_agent.0';
export const GUEST_AGENT_PATH = '/usr/sbin/qemu-ga';

export interface GuestFile {
  path: string;
  mode: number;
  content: string;
}

/**
 * PID 1 first runs this script, then hands over to busybox init: a shell as PID 1 cannot honour `reboot`/`poweroff`
 * (they signal init), and init also respawns the agent.
 */
export function initScript(modules: readonly string[] = GUEST_MODULES): string {
  return `#!/bin/busybox sh
# Harrow guest: mount the kernel filesystems, load virtio drivers, then become busybox init.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /sbin /usr/bin /usr/sbin /var /root
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ln -sf /run /var/run
mkdir -p /dev/pts /dev/virtio-ports /run/qemu-ga
for m in ${modules.join(' ')}; do
  insmod ${GUEST_MODULE_DIR}/$m.ko || echo "harrow-guest: insmod $m failed"
done
hostname harrow-guest
ip link set lo up
echo "harrow-guest: init"
exec /bin/busybox init
`;
}

/** The serial console (ttyS0): getty's login prompt, as on any Linux guest, for `harrow console`. */
export const SERIAL_CONSOLE = 'ttyS0';

export const INITTAB = `# busybox init: agent respawned, network configured once per boot, a login on the serial console.
::sysinit:/etc/harrow/ports
::respawn:/etc/harrow/agent
::once:/etc/harrow/network
${SERIAL_CONSOLE}::respawn:/sbin/getty -L 115200 ${SERIAL_CONSOLE} vt100
::respawn:/sbin/acpid -f -c /etc/acpi -l /run/acpid.log
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
`;

/** Names the virtio-serial ports like udev does (/dev/virtio-ports/<name>); the name arrives shortly after the driver loads. */
export const PORTS_SCRIPT = `#!/bin/sh
for try in $(seq 1 50); do
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] || continue
    n=$(cat "$p/name")
    [ -n "$n" ] || continue
    ln -sf "../\${p##*/}" "/dev/virtio-ports/$n"
  done
  [ -e /dev/virtio-ports/${GUEST_AGENT_PORT} ] && exit 0
  sleep 0.1
done
echo "harrow-guest: no virtio port ${GUEST_AGENT_PORT}"
`;

export const AGENT_SCRIPT = `#!/bin/sh
exec ${GUEST_AGENT_PATH} -m virtio-serial -p /dev/virtio-ports/${GUEST_AGENT_PORT} -t /run/qemu-ga
`;

/** Every ethN gets a DHCP client; -b lets it keep trying in the background without holding up the boot. */
export const NETWORK_SCRIPT = `#!/bin/sh
for d in /sys/class/net/eth*; do
  [ -e "$d" ] || continue
  i=\${d##*/}
  ip link set "$i" up
  udhcpc -i "$i" -b -s /etc/harrow/udhcpc -t 5 -T 1 -A 3
done
`;

/** udhcpc hook: applies the lease with ip(8). */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    prefix="\${mask:-24}"
    if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/$prefix "; then
      ip -4 addr flush dev "$interface"
      ip addr add "$ip/$prefix" dev "$interface"
    fi
    if [ -n "$router" ]; then
      set -- $router
      ip route del default dev "$interface" 2>/dev/null
      ip route add default via "$1" dev "$interface" metric "$(cat /sys/class/net/$interface/ifindex)"
    fi
    echo "harrow-guest: $interface $ip/$prefix"
    ;;
esac
exit 0
`;

/** busybox acpid runs <confdir>/PWRF/00000080 on the power button (QMP system_powerdown). */
export const POWER_BUTTON_SCRIPT = `#!/bin/sh
exec /sbin/poweroff
`;

/** qemu-ga's guest-shutdown runs /sbin/shutdown, which busybox does not provide. */
export const SHUTDOWN_SCRIPT = `#!/bin/sh
case "$1" in
  -r) exec /sbin/reboot ;;
  -H) exec /sbin/halt ;;
  *) exec /sbin/poweroff ;;
esac
`;

/** root without a password: the guest is reachable only through Harrow's console (an operator's right). */
export const PASSWD = 'root::0:0:root:/root:/bin/sh\n';
export const GROUP = 'root:x:0:\n';
export const ISSUE = 'Harrow guest (busybox) \\l\n\n';
export const PROFILE = `export PATH=/sbin:/usr/sbin:/bin:/usr/bin
export PS1='\\h:\\w# '
`;

export function guestScripts(modules: readonly string[] = GUEST_MODULES): GuestFile[] {
  return [
    { path: '/init', mode: 0o755, content: initScript(modules) },
    { path: '/etc/inittab', mode: 0o644, content: INITTAB },
    { path: '/etc/harrow/ports', mode: 0o755, content: PORTS_SCRIPT },
    { path: '/etc/harrow/agent', mode: 0o755, content: AGENT_SCRIPT },
    { path: '/etc/harrow/network', mode: 0o755, content: NETWORK_SCRIPT },
    { path: '/etc/harrow/udhcpc', mode: 0o755, content: UDHCPC_SCRIPT },
    { path: '/etc/acpi/PWRF/00000080', mode: 0o755, content: POWER_BUTTON_SCRIPT },
    { path: '/sbin/shutdown', mode: 0o755, content: SHUTDOWN_SCRIPT },
    { path: '/etc/hostname', mode: 0o644, content: 'harrow-guest\n' },
    { path: '/etc/passwd', mode: 0o644, content: PASSWD },
    { path: '/etc/group', mode: 0o644, content: GROUP },
    { path: '/etc/issue', mode: 0o644, content: ISSUE },
    { path: '/etc/profile', mode: 0o644, content: PROFILE },
  ];
}
