import { request } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { startAdminServer, type AdminServer } from './admin-server';
import { nodeMetrics } from './fedlab-metrics';

describe('startAdminServer', () => {
  let admin: AdminServer | undefined;
  afterEach(async () => {
    await admin?.stop();
    admin = undefined;
  });

  async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: string }> {
    const res = await fetch(`${admin!.url}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  }

  it('answers /healthz with 200 ok and binds the loopback address it was given', async () => {
    admin = await startAdminServer({ listen: '127.0.0.1:0', ready: () => undefined, registry: new Registry() });
    expect(admin.url).toBe(`http://127.0.0.1:${admin.port}`);
    expect(await get('/healthz')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' });
  });

  it('answers /readyz with 503 and a one-line JSON reason until the probe reports ready', async () => {
    let reason: string | undefined = 'not attached to the coordinator';
    admin = await startAdminServer({ listen: '127.0.0.1:0', ready: () => reason, registry: new Registry() });
    expect(await get('/readyz')).toEqual({
      status: 503,
      type: 'application/json; charset=utf-8',
      body: '{"ready":false,"reason":"not attached to the coordinator"}\n',
    });
    reason = undefined;
    expect(await get('/readyz')).toEqual({ status: 200, type: 'application/json; charset=utf-8', body: '{"ready":true}\n' });
  });

  it('reports a probe that throws as not ready without its message', async () => {
    admin = await startAdminServer({
      listen: '127.0.0.1:0',
      ready: () => {
        throw new Error('secret detail');
      },
      registry: new Registry(),
    });
    expect(await get('/readyz')).toMatchObject({ status: 503, body: '{"ready":false,"reason":"the readiness check failed"}\n' });
  });

  it('serves the registry at /metrics in the Prometheus text format', async () => {
    const registry = new Registry();
    nodeMetrics(registry).reconnect();
    admin = await startAdminServer({ listen: '127.0.0.1:0', ready: () => undefined, registry });
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.body).toContain('# TYPE fedlab_coordinator_reconnects_total counter\nfedlab_coordinator_reconnects_total 1\n');
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    admin = await startAdminServer({ listen: '127.0.0.1:0', ready: () => undefined, registry: new Registry() });
    expect(await get('/admin')).toMatchObject({ status: 404, body: 'not found\n' });
    expect((await get('/metrics', { method: 'POST' })).status).toBe(405);
  });

  it('answers 403 to a request whose Host is not a loopback name (DNS rebinding)', async () => {
    admin = await startAdminServer({ listen: '127.0.0.1:0', ready: () => undefined, registry: new Registry() });
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: admin!.port, path: '/metrics', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
          .on('error', reject)
          .end();
      });
    expect(await status('attacker.example:80')).toBe(403);
    expect(await status(`localhost:${admin.port}`)).toBe(200);
    expect(await status(`[::1]:${admin.port}`)).toBe(200);
  });

  it('refuses to listen off loopback', async () => {
    const error = await startAdminServer({ listen: '0.0.0.0:0', ready: () => undefined, registry: new Registry() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FedlabError);
    expect((error as FedlabError).code).toBe('INVALID_ARGUMENT');
    expect((error as FedlabError).message).toBe(
      'admin listen address "0.0.0.0:0": the admin endpoint (/healthz, /readyz, /metrics) is unauthenticated and served on loopback only (127.0.0.1, ::1, localhost)',
    );
  });
});
