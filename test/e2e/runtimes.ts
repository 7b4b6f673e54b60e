// Which runtimes the scenario suite runs on here: sim always; qemu where the machine can run real guests.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export interface RuntimeUnderTest {
  name: 'sim' | 'qemu';
  /** Why it is skipped here, if it is. */
  skip?: string;
  /** Scale for waits: real guests under TCG boot in seconds, sim ones in milliseconds. */
  timeoutMs: number;
}

function qemuSkipReason(): string | undefined {
  if (process.env.HARROW_TEST_QEMU === '0') return 'HARROW_TEST_QEMU=0';
  if (process.getuid?.() !== 0)
    return 'real guests need root (network namespaces, bridges, nftables)';
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)';
  }
  if (
    !existsSync('/boot') ||
    !readdirSync('/boot').some((f) => /^vmlinuz-.*cloud-amd64$/.test(f))
  ) {
    return 'the Debian cloud kernel is not installed (apt-get install linux-image-cloud-amd64)';
  }
  return undefined;
}

export function runtimesUnderTest(): RuntimeUnderTest[] {
  const qemuSkip = qemuSkipReason();
  return [
    { name: 'sim', timeoutMs: 30_000 },
    { name: 'qemu', timeoutMs: 120_000, ...(qemuSkip ? { skip: qemuSkip } : {}) },
  ];
}
