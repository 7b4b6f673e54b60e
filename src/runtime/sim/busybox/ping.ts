// busybox `ping` (v1.35) in the simulated guest: routes by the guest's connected subnets, one outcome per echo request.
import { cidrContains, cidrOf, parseIpv4 } from '../../../ip/ipv4.ts';
import { type Applet, type GuestLink, BUSYBOX_VERSION, result } from './guest-os.ts';
import { getopt } from './getopt.ts';

const USAGE = `BusyBox v${BUSYBOX_VERSION} multi-call binary.

Usage: ping [OPTIONS] HOST

Send ICMP ECHO_REQUESTs to HOST
`;

const onLink = (l: GuestLink, target: number): boolean => {
  if (!l.up || !l.ipv4) return false;
  const own = parseIpv4(l.ipv4.address) ?? 0;
  return cidrContains(cidrOf(own, l.ipv4.prefix), target);
};

// Simulated round-trip times: only their shape matters to readers of the output.
const rttOf = (seq: number): number => 0.3 + ((seq * 37) % 11) / 100;

export const ping: Applet = (args, os) => {
  const parsed = getopt(args, 'c:W:w:I:i:s:t:p:qA46');
  if (!parsed.ok) return result(1, '', `ping: ${parsed.message}\n${USAGE}`);
  const { flags, values, operands } = parsed.options;
  if (operands.length !== 1) return result(1, '', USAGE);
  const host = operands[0] ?? '';
  const target = parseIpv4(host);
  if (target === undefined) return result(1, '', `ping: bad address '${host}'\n`);
  const numeric = (letter: string, fallback: number): number | undefined => {
    const text = values.get(letter);
    if (text === undefined) return fallback;
    const n = Number(text);
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  };
  const deadline = numeric('w', 0);
  // Without -c (and -w) the real ping never ends; the sim sends busybox's usual handful instead of hanging.
  const count = numeric('c', deadline || 4);
  const size = numeric('s', 56);
  if (count === undefined || size === undefined || deadline === undefined)
    return result(1, '', USAGE);

  let stdout = `PING ${host} (${host}): ${size} data bytes\n`;
  let stderr = '';
  const links = os.links();
  const bound = values.get('I');
  let via: GuestLink | undefined;
  const local = target >>> 24 === 127 || links.some((l) => l.ipv4?.address === host);
  if (bound !== undefined) {
    via = links.find((l) => l.name === bound);
    if (!via) stderr += `ping: can't bind to interface ${bound}: No such device\n`;
  }
  if (!via && !local) {
    // Connected route first, then the default route that udhcpc's script installed on the first configured link.
    via = links.find((l) => onLink(l, target)) ?? links.find((l) => l.up && l.ipv4);
    if (!via) return result(1, stdout, `${stderr}ping: sendto: Network is unreachable\n`);
  }

  let received = 0;
  const rtts: number[] = [];
  for (let seq = 0; seq < count; seq++) {
    const replied =
      local || (via !== undefined && via.ipv4 !== undefined && os.echo(via.name, host, size));
    if (!replied) continue;
    received++;
    const rtt = rttOf(seq);
    rtts.push(rtt);
    if (!flags.has('q'))
      stdout += `${size + 8} bytes from ${host}: seq=${seq} ttl=64 time=${rtt.toFixed(3)} ms\n`;
  }
  const loss = count === 0 ? 0 : Math.floor(((count - received) * 100) / count);
  stdout += `\n--- ${host} ping statistics ---\n${count} packets transmitted, ${received} packets received, ${loss}% packet loss\n`;
  if (rtts.length > 0) {
    const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    stdout += `round-trip min/avg/max = ${Math.min(...rtts).toFixed(3)}/${avg.toFixed(3)}/${Math.max(...rtts).toFixed(3)} ms\n`;
  }
  return result(received > 0 ? 0 : 1, stdout, stderr);
};
