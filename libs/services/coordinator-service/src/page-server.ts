import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '@fedlab/model';
import { listenError } from '@fedlab/ops';
import { IMMEDIATE_OUTPUT, type OutputGate } from '@fedlab/store';

/** One answer of a read-only page server. */
export interface PageResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** A running read-only page server. */
export interface PageServer {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

/** Escapes text for HTML content and quoted attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The plain-text 404 every page server answers for an unknown path. */
export const NOT_FOUND: PageResponse = { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };

/** Splits `host:port` (or `[v6]:port`); a missing port is 0, which picks a free one. */
export function splitListenAddress(listen: string): { host: string; port: number } {
  return { host: listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''), port: Number(/:(\d+)$/.exec(listen)?.[1] ?? 0) };
}

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first so the
 * comparison takes the same time whatever the length or the first differing byte.
 */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented.length > 0;
}

/**
 * Serves read-only pages over HTTP: GET only (405 otherwise). `respond` maps a request path to an
 * answer; anything it throws becomes a bare 500 and is logged locally, never sent to the client.
 */
export async function startPageServer(
  listen: string,
  respond: (path: string, req: IncomingMessage) => PageResponse,
  options: {
    logger?: Logger;
    /** PEM certificate and key: serve HTTPS instead of HTTP. */
    tls?: { cert: Buffer; key: Buffer };
    /** The setting `listen` comes from, named when it cannot be listened on. */
    setting: string;
    /** What each answer waits for before it is sent: the commits it shows are on the disk (default: nothing). */
    outputs?: OutputGate;
  },
): Promise<PageServer> {
  const { logger = silentLogger, tls, setting, outputs = IMMEDIATE_OUTPUT } = options;
  const handler: RequestListener = (req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    let answer: PageResponse;
    try {
      answer = respond((req.url ?? '/').split('?')[0]!, req);
    } catch (error) {
      logger.error({ err: error }, 'page server: unexpected error');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
      return;
    }
    outputs.after(() => res.writeHead(answer.status, answer.headers).end(answer.body));
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, handler) : createServer(handler);
  const { host, port } = splitListenAddress(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, setting, listen)));
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
