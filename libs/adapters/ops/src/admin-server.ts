import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listenError } from './listen-error';
import { FedlabError, silentLogger, type Logger } from '@fedlab/model';
import { isLoopbackAddress } from '@fedlab/wire';

/** Why the process is not ready to serve (one line, no identifying data), or undefined when it is. */
export type ReadinessProbe = () => string | undefined;

export interface AdminServerOptions {
  /** `host:port` on loopback (`127.0.0.1`, `::1`, `localhost`); port 0 picks a free port. */
  listen: string;
  ready: ReadinessProbe;
  /** The process's metrics registry, served at /metrics. */
  registry: Registry;
  logger?: Logger;
}

/** A running admin endpoint. */
export interface AdminServer {
  /** e.g. `http://127.0.0.1:9464`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** `host:port` or `[v6]:port`: the form of the `admin_listen` setting. */
export const ADMIN_LISTEN_PATTERN = /^(?:\[[^\]\s]+\]|[^:[\]\s]+):\d{1,5}$/;

/** Why an `admin_listen` value is refused, or undefined when it is on loopback. */
export function adminListenError(listen: string): string | undefined {
  return isLoopbackAddress(listen)
    ? undefined
    : 'the admin endpoint (/healthz, /readyz, /metrics) is unauthenticated and served on loopback only (127.0.0.1, ::1, localhost)';
}

/** Splits `host:port` or `[v6]:port`. */
function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new FedlabError('INVALID_ARGUMENT', `admin listen address "${listen}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
}

/**
 * Serves the local admin endpoint of a daemon (DESIGN.md §8, docs/operations.md): `/healthz`
 * (liveness: the process answers), `/readyz` (200, or 503 with a one-line JSON reason) and
 * `/metrics` (Prometheus text format). GET only; loopback only, because it is unauthenticated.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const refused = adminListenError(options.listen);
  if (refused) throw new FedlabError('INVALID_ARGUMENT', `admin listen address "${options.listen}": ${refused}`);
  const { host, port } = splitListen(options.listen);
  const logger = options.logger ?? silentLogger;
  const server = createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    // A page in a browser could reach a loopback port through DNS rebinding; its Host header gives it away.
    if (!isLoopbackAddress(req.headers.host ?? '')) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/readyz') {
      let reason: string | undefined;
      try {
        reason = options.ready();
      } catch (error) {
        logger.error({ err: error }, 'readiness probe failed');
        reason = 'the readiness check failed';
      }
      const body = `${JSON.stringify(reason === undefined ? { ready: true } : { ready: false, reason })}\n`;
      return send(res, reason === undefined ? 200 : 503, 'application/json; charset=utf-8', body);
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => send(res, 200, options.registry.contentType, text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        },
      );
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, 'admin_listen', options.listen)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; close them so shutdown does not wait for their timeout.
        server.closeAllConnections();
      }),
  };
}
