// The simulated guest's disks, as far as a user sees them: the files on its root disk. A containerDisk root is a fresh
// copy of the image at every start (KubeVirt's ephemeral overlay), and cloud-init's write_files (from a NoCloud seed)
// and instance-id land on it during boot.
import { parse } from 'yaml';
import type { GuestSpec } from '../types.ts';

/** The files a guest's root disk holds right after boot (empty without a bootable image or a seed). */
export function bootFiles(spec: GuestSpec): Map<string, string> {
  const files = new Map<string, string>();
  const disks = spec.disks ?? [];
  if (!disks.some((d) => d.source.type === 'containerDisk')) return files;
  for (const disk of disks) {
    if (disk.source.type !== 'cloudInitNoCloud') continue;
    const instanceId = /^instance-id:\s*"?([^"\n]*)"?$/m.exec(disk.source.metaData)?.[1];
    if (instanceId) files.set('/var/lib/cloud/data/instance-id', `${instanceId}\n`);
    for (const file of writeFiles(disk.source.userData)) files.set(file.path, file.content);
  }
  return files;
}

/** cloud-config `write_files` entries with plain content (what the sim models of cloud-init). */
function writeFiles(userData: string): Array<{ path: string; content: string }> {
  if (!userData.startsWith('#cloud-config')) return [];
  let config: unknown;
  try {
    config = parse(userData);
  } catch {
    return [];
  }
  const entries = (config as { write_files?: unknown })?.write_files;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown) => {
    const e = entry as { path?: unknown; content?: unknown; encoding?: unknown };
    if (typeof e.path !== 'string' || (e.encoding !== undefined && e.encoding !== 'text/plain'))
      return [];
    return [{ path: e.path, content: typeof e.content === 'string' ? e.content : '' }];
  });
}
