// ldd wrapper: the shared libraries (and dynamic loader) a binary needs at run time.
import { run } from './command.ts';

/** Absolute paths of the libraries in `ldd` output (the vDSO has no file and is skipped); throws on "not found". */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const missing = line.match(/^(\S+) => not found/);
    if (missing) throw new Error(`shared library ${missing[1]} not found`);
    const linked = line.match(/=> (\/\S+) \(0x[0-9a-f]+\)$/);
    if (linked) {
      paths.push(linked[1]!);
      continue;
    }
    const loader = line.match(/^(\/\S+) \(0x[0-9a-f]+\)$/);
    if (loader) paths.push(loader[1]!);
  }
  return [...new Set(paths)].sort();
}

export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  return parseLdd(stdout);
}
