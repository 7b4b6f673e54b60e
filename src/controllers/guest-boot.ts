// Whether a guest's boot has finished, asked through its agent: systemd's FinishTimestampMonotonic (0 while the boot
// runs) against the guest's uptime. A guest's agent may answer long before its network is configured (the Debian
// image starts it right after the root is writable), so "the agent answers" does not mean "the guest has booted".
// A guest without systemd (the busybox initramfs, the sim) cannot tell: unknown. Pure.

/** Read-only: two numbers, the boot's finish time on the monotonic clock (µs; 0 while booting) and the uptime (s). */
export const GUEST_BOOT_PROBE: readonly string[] = [
  'sh',
  '-c',
  'systemctl show --property=FinishTimestampMonotonic --value; cat /proc/uptime',
];

export type GuestBootState = { booting: true } | { booting: false; finishedSecondsAgo: number };

/** The probe's output as a boot state; undefined when the guest has no systemd to ask (or said something else). */
export function guestBootStateOf(stdout: string): GuestBootState | undefined {
  const [finish, uptime] = stdout.trim().split('\n');
  if (finish === undefined || uptime === undefined || !/^\d+$/.test(finish.trim()))
    return undefined;
  const up = Number.parseFloat(uptime.trim().split(/\s+/)[0] ?? '');
  if (!Number.isFinite(up)) return undefined;
  const finishedAtSeconds = Number(finish.trim()) / 1e6;
  if (finishedAtSeconds === 0) return { booting: true };
  return { booting: false, finishedSecondsAgo: Math.max(0, up - finishedAtSeconds) };
}
