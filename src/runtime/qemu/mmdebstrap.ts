// mmdebstrap wrapper: a Debian root file system from Debian's packages, into a directory.
import { run } from './command.ts';

export interface DebootstrapRecipe {
  suite: string;
  variant: 'minbase' | 'apt' | 'essential';
  packages: readonly string[];
  /** One-line apt sources (`deb URI SUITE COMPONENTS`); the host's own sources are not used. */
  sources: readonly string[];
}

export async function mmdebstrap(recipe: DebootstrapRecipe, target: string): Promise<void> {
  await run(
    'mmdebstrap',
    [
      '--quiet',
      `--variant=${recipe.variant}`,
      `--include=${recipe.packages.join(',')}`,
      // No fsync per file: the tree becomes a disk image afterwards, a crash means building again anyway.
      '--dpkgopt=force-unsafe-io',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      recipe.suite,
      target,
      ...recipe.sources,
    ],
    { timeoutMs: 1_200_000 },
  );
}
