// apt-cache wrapper: the candidate versions apt would install, to name a package-built image by its content.
import { run } from './command.ts';

/** `apt-cache policy` Candidate per package; `(none)` when apt does not know the package. */
export async function candidateVersions(packages: readonly string[]): Promise<Map<string, string>> {
  const { stdout } = await run('apt-cache', ['policy', ...packages]);
  const versions = new Map<string, string>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    const name = /^(\S+):$/.exec(line);
    if (name) {
      current = name[1];
      continue;
    }
    const candidate = /^\s+Candidate:\s+(\S+)/.exec(line);
    if (candidate && current) versions.set(current, candidate[1] ?? '(none)');
  }
  for (const p of packages) if (!versions.has(p)) versions.set(p, '(none)');
  return versions;
}
