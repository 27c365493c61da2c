import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FedlabError, RUNNING_FROM_RELEASE } from '@fedlab/model';

type Operation = 'info' | 'hashBlind' | 'blind' | 'validate' | 'encrypt';

/**
 * Which libsodium runs the group operations: `native` is the addon in libs/adapters/crypto/native on the
 * system's libsodium (about twice as fast), `wasm` is libsodium's WebAssembly build, and `auto` (the
 * default) uses the native one wherever it loads. Both compute the same: identical bytes wherever the
 * operation is deterministic (hashing, blinding, validation); encryption draws fresh randomness.
 */
export type RistrettoBackend = 'auto' | 'native' | 'wasm';

/** The backend the workers actually run, its libsodium version, and why `auto` fell back to wasm. */
export interface RistrettoBackendInfo {
  name: 'native' | 'wasm';
  version: string;
  fallbackReason?: string;
}

/** Where `npm ci` (postinstall) and `npm run build:native` put the native addon. */
export const NATIVE_RISTRETTO_ADDON = RUNNING_FROM_RELEASE
  ? path.join(__dirname, 'native/fedlab_ristretto.node')
  : path.join(__dirname, '../native/build/Release/fedlab_ristretto.node');

/**
 * The native addon's exports (what each caller needs of them is the caller's check), or why it does not
 * load: not built, or built but unloadable (no libsodium, a stale build).
 */
export function requireNativeAddon<T>(addonPath = NATIVE_RISTRETTO_ADDON): { addon: Partial<T> } | { reason: string } {
  try {
    return { addon: createRequire(__filename)(addonPath) as Partial<T> };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { reason: code === 'MODULE_NOT_FOUND' ? 'the native addon is not built (npm run build:native)' : (error as Error).message };
  }
}

/** The backend the environment asks for (FEDLAB_PSI_BACKEND, read by the app that passes `env`), or `auto`. */
export function defaultRistrettoBackend(env: Record<string, string | undefined>): RistrettoBackend {
  const wanted = env.FEDLAB_PSI_BACKEND ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'native' && wanted !== 'wasm') {
    throw new FedlabError('CONFIG_INVALID', `FEDLAB_PSI_BACKEND is "${wanted}"; expected auto, native or wasm`);
  }
  return wanted;
}

interface Pending {
  resolve: (value: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Worker threads that run batches of ristretto255 operations (hashing to the group, blinding,
 * validation, ElGamal encryption) with libsodium, one per core by default, so the private
 * intersection-sum uses every core (DESIGN.md §7.4). A batch is split evenly over the workers.
 * Workers hold the event loop open only while they have work.
 */
export class RistrettoPool {
  private workers: PoolWorker[] | undefined;
  private nextId = 0;

  /**
   * @param nativeAddon where the workers look for the native addon (tests point it elsewhere to
   * exercise the fallback).
   */
  constructor(
    readonly size = availableParallelism(),
    readonly backend: RistrettoBackend = 'auto',
    private readonly nativeAddon = NATIVE_RISTRETTO_ADDON,
  ) {}

  /** The backend the workers run (they load it on their first batch). */
  async info(): Promise<RistrettoBackendInfo> {
    const answer = await this.post(this.start()[0]!, 'info', {}, []);
    return JSON.parse(new TextDecoder().decode(answer)) as RistrettoBackendInfo;
  }

  /** Runs `op` over `count` items split into one slice per worker; `slice(start, end)` builds each worker's arguments. */
  async map(
    op: Operation,
    count: number,
    slice: (start: number, end: number) => Record<string, unknown>,
    transfer?: (args: Record<string, unknown>) => ArrayBuffer[],
  ): Promise<Uint8Array[]> {
    const workers = this.start();
    const per = Math.ceil(count / workers.length);
    const jobs: Promise<Uint8Array>[] = [];
    for (let w = 0; w < workers.length && w * per < Math.max(count, 1); w += 1) {
      const start = w * per;
      const end = Math.min(count, start + per);
      const args = slice(start, end);
      jobs.push(this.post(workers[w]!, op, args, transfer?.(args) ?? []));
    }
    return Promise.all(jobs);
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private start(): PoolWorker[] {
    if (this.workers) return this.workers;
    this.workers = Array.from({ length: Math.max(1, this.size) }, () => {
      const worker = new Worker(path.join(__dirname, 'ristretto-worker.js'), { workerData: { backend: this.backend, nativeAddon: this.nativeAddon } });
      worker.unref();
      const entry: PoolWorker = { worker, pending: new Map() };
      worker.on('message', (message: { id: number; result?: Uint8Array; error?: { invalidPoint?: number; backendUnavailable?: string; message?: string } }) => {
        const pending = entry.pending.get(message.id);
        if (!pending) return;
        entry.pending.delete(message.id);
        if (entry.pending.size === 0) worker.unref();
        if (message.error) {
          pending.reject(
            message.error.invalidPoint !== undefined
              ? new FedlabError('INVALID_POINT', `psi: received element ${message.error.invalidPoint} is not a valid ristretto255 element or is the identity`)
              : message.error.backendUnavailable !== undefined
                ? new FedlabError('CONFIG_INVALID', message.error.backendUnavailable)
                : new FedlabError('INTERNAL', 'internal error', { cause: message.error.message }),
          );
        } else {
          pending.resolve(message.result!);
        }
      });
      worker.on('error', (error) => {
        for (const pending of entry.pending.values()) pending.reject(error);
        entry.pending.clear();
      });
      return entry;
    });
    return this.workers;
  }

  private post(entry: PoolWorker, op: Operation, args: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      entry.worker.ref();
      entry.worker.postMessage({ id, op, args }, transfer);
    });
  }
}

/** Concatenates the per-worker results in order. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
