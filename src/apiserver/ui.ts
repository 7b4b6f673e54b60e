// Serves the built web UI at /ui/ (static files, SPA fallback to index.html) and sends / there; no token needed.
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { PUBLIC_ROUTE } from './route-config.ts';

export interface UiOptions {
  /** The Vite build output (web/dist): index.html and assets/. */
  distDir: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export const contentTypeOf = (path: string): string =>
  CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';

// The UI talks only to this origin; React sets a few style attributes (usage bars), hence style-src 'unsafe-inline'.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/**
 * The file under `root` that `relative` names, or undefined when there is none (or it would leave `root`).
 * Exported for the unit test of the traversal guard.
 */
export async function fileUnder(root: string, relative: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = resolve(root, `.${sep}${decoded}`);
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  try {
    const s = await stat(path);
    return s.isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Vite names built assets by content hash, so they never change under one URL. */
const isHashedAsset = (relative: string): boolean => relative.startsWith('assets/');

/** A path that names a file (has an extension) gets a 404 when missing; any other path is a client-side route. */
const looksLikeFile = (relative: string): boolean => extname(relative) !== '';

export function uiPlugin(options: UiOptions): FastifyPluginAsync {
  const root = resolve(options.distDir);
  const indexPath = resolve(root, 'index.html');

  const sendIndex = async (reply: FastifyReply): Promise<FastifyReply> => {
    let html: Buffer;
    try {
      html = await readFile(indexPath);
    } catch {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built. Run `npm run build:web`, then reload.\n');
    }
    return reply
      .type(CONTENT_TYPES['.html'] as string)
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(html);
  };

  return async (app: FastifyInstance) => {
    app.get('/', { config: PUBLIC_ROUTE }, async (_request, reply) => reply.redirect('/ui/', 302));
    app.get('/ui', { config: PUBLIC_ROUTE }, async (_request, reply) =>
      reply.redirect('/ui/', 301),
    );
    app.get('/ui/*', { config: PUBLIC_ROUTE }, async (request, reply) => {
      const relative = (request.params as { '*': string })['*'];
      if (relative === '' || relative === 'index.html') return sendIndex(reply);
      const file = await fileUnder(root, relative);
      if (file) {
        const body = await readFile(file);
        return reply
          .type(contentTypeOf(file))
          .header(
            'cache-control',
            isHashedAsset(relative) ? 'public, max-age=31536000, immutable' : 'no-cache',
          )
          .header('x-content-type-options', 'nosniff')
          .send(body);
      }
      if (looksLikeFile(relative)) {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send(`No such file in the web UI: /ui/${relative}\n`);
      }
      return sendIndex(reply);
    });
  };
}
