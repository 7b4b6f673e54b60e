// Serves the built web UI when web/dist exists (the README's setup builds it).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';

export async function uiPluginIfBuilt(): Promise<FastifyPluginAsync[]> {
  const distDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');
  if (!existsSync(join(distDir, 'index.html'))) return [];
  const { uiPlugin } = await import('../apiserver/ui.ts');
  return [uiPlugin({ distDir })];
}
