// What a route tells the server-wide hooks through its `config`: public (no token) and, for API routes, kind and verb.
import type { HarrowRouteConfig } from './resources.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No bearer token needed: health probes, and static files a plugin (the web UI) serves to browsers. */
    public?: boolean;
    /**
     * Exempt from the request timeout, as Kubernetes' long-running requests (exec, watch) are: the route bounds its own
     * time (guest-exec by its timeoutSeconds).
     */
    longRunning?: boolean;
    /** Set by Harrow's API routes: authorization and the audit of failed writes read it. */
    harrow?: HarrowRouteConfig;
  }
}

/** Route options for a plugin's route that needs no token: `app.get('/ui/*', { config: PUBLIC_ROUTE }, handler)`. */
export const PUBLIC_ROUTE = { public: true } as const;
