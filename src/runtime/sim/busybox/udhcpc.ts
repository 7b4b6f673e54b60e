// busybox `udhcpc` (v1.35) in the simulated guest: one DHCP exchange from the interface's current MAC, messages on stderr.
import { type Applet, BUSYBOX_VERSION, result } from './guest-os.ts';
import { getopt } from './getopt.ts';

const USAGE = `BusyBox v${BUSYBOX_VERSION} multi-call binary.

Usage: udhcpc [-fbqRB] [-a[MSEC]] [-t N] [-T SEC] [-A SEC|-n]
\t[-i IFACE] [-s PROG] [-p PIDFILE]
\t[-oC] [-r IP] [-V VENDOR] [-F NAME] [-x OPT:VAL]... [-O OPT]...
`;

export const udhcpc: Applet = (args, os) => {
  const parsed = getopt(args, 'i:nqt:T:A:fbRBSaCs:p:r:oO:x:V:F:');
  if (!parsed.ok) return result(1, '', `udhcpc: ${parsed.message}\n${USAGE}`);
  const { flags, values } = parsed.options;
  const iface = values.get('i') ?? 'eth0';
  const retries = Number(values.get('t') ?? '3');
  if (!Number.isInteger(retries) || retries < 0)
    return result(1, '', `udhcpc: invalid number '${values.get('t') ?? ''}'\n`);
  if (!os.links().some((l) => l.name === iface))
    return result(1, '', 'udhcpc: SIOCGIFINDEX: No such device\n');

  let log = `udhcpc: started, v${BUSYBOX_VERSION}\n`;
  const outcome = os.runDhcp(iface);
  if (outcome.bound) {
    log +=
      'udhcpc: broadcasting discover\n' +
      `udhcpc: broadcasting select for ${outcome.address}, server ${outcome.server}\n` +
      `udhcpc: lease of ${outcome.address} obtained from ${outcome.server}, lease time ${Number.isFinite(outcome.leaseSeconds) ? outcome.leaseSeconds : 4294967295}\n`;
    return result(0, '', log);
  }
  log += 'udhcpc: broadcasting discover\n'.repeat(Math.max(1, retries));
  if (flags.has('b')) return result(0, '', `${log}udhcpc: no lease, forking to background\n`);
  // Without -n the real client keeps retrying in the foreground until the exec times out; the sim answers at once.
  return result(1, '', `${log}udhcpc: no lease, failing\n`);
};
