// GET /metrics: the server's registry (requests, controllers, Node.js process) in the Prometheus text format.
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export function metricsPlugin(registry: Registry): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  };
}
