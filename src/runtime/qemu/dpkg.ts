// dpkg-query wrapper: which Debian packages are installed, their versions, dependencies and files.
import { CommandError, run } from './command.ts';

export class MissingPackageError extends Error {
  constructor(
    readonly packageName: string,
    purpose: string,
  ) {
    super(`install ${packageName}: apt-get install ${packageName} (needed for ${purpose})`);
    this.name = 'MissingPackageError';
  }
}

export interface InstalledPackage {
  name: string;
  version: string;
}

/** The installed version of a package, undefined when it is unknown or not fully installed. */
export async function installedVersion(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f=${db:Status-Status} ${Version}\n', name]);
    const [status, version] = stdout.trim().split(' ');
    return status === 'installed' && version ? version : undefined;
  } catch (error) {
    if (error instanceof CommandError) return undefined;
    throw error;
  }
}

/** Throws a MissingPackageError that tells the operator the apt-get command. */
export async function requirePackage(name: string, purpose: string): Promise<InstalledPackage> {
  const version = await installedVersion(name);
  if (!version) throw new MissingPackageError(name, purpose);
  return { name, version };
}

/** Package names of a `Depends:` field, alternatives flattened, version constraints dropped. */
export function parseDepends(field: string): string[] {
  return field
    .split(/[,|]/)
    .map((part) => part.trim().split(/[\s(:]/)[0] ?? '')
    .filter((name) => name.length > 0);
}

export async function dependsOf(name: string): Promise<string[]> {
  const { stdout } = await run('dpkg-query', ['-W', '-f=${Depends}', name]);
  return parseDepends(stdout);
}

/** Files the package installed (directories included), as dpkg lists them. */
export async function filesOf(name: string): Promise<string[]> {
  const { stdout } = await run('dpkg-query', ['-L', name]);
  return stdout.split('\n').filter((line) => line.startsWith('/'));
}
