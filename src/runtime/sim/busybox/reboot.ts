// busybox `reboot` in the simulated guest: the machine resets, so the NICs come back with their device MACs.
import { type Applet, BUSYBOX_VERSION, result } from './guest-os.ts';
import { getopt } from './getopt.ts';

export const reboot: Applet = (args, os) => {
  const parsed = getopt(args, 'd:nf');
  if (!parsed.ok || parsed.options.operands.length > 0) {
    return result(
      1,
      '',
      `BusyBox v${BUSYBOX_VERSION} multi-call binary.\n\nUsage: reboot [-d DELAY] [-nf]\n\nReboot the system\n`,
    );
  }
  os.reboot();
  return result(0);
};
