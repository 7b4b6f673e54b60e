// GET /metrics: the controllers' metrics in the Prometheus text format.
import type { FastifyPluginAsync } from 'fastify';

export function metricsPlugin(render: () => string): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      reply.type('text/plain; version=0.0.4');
      return render();
    });
  };
}
