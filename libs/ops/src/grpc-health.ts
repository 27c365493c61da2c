import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';

/** The repository's proto folder: the wire contract that libs/proto is generated from. */
export const FEDLAB_PROTO_ROOT = path.resolve(__dirname, '../../../proto');

let cached: PackageDefinition | undefined;

/**
 * The descriptors of every `fedlab/v1/*.proto` file and of `grpc.health.v1`, parsed at run time
 * (ts-proto's generated code carries no descriptors). Loaded once per process.
 */
export function fedlabPackageDefinition(): PackageDefinition {
  if (!cached) {
    const files = readdirSync(path.join(FEDLAB_PROTO_ROOT, 'fedlab/v1'))
      .filter((f) => f.endsWith('.proto'))
      .sort()
      .map((f) => `fedlab/v1/${f}`);
    cached = loadSync([...files, healthProtoPath], { includeDirs: [FEDLAB_PROTO_ROOT] });
  }
  return cached;
}

/** Fully qualified names of the fedlab gRPC services, e.g. `fedlab.v1.ResearchService`. */
export function fedlabServiceNames(): string[] {
  // Message and enum entries carry a `format`; service entries are maps of method definitions.
  return Object.entries(fedlabPackageDefinition())
    .filter(([name, entry]) => name.startsWith('fedlab.') && !('format' in entry))
    .map(([name]) => name)
    .sort();
}

/** Sets the health status the coordinator reports over `grpc.health.v1`. */
export interface GrpcHealth {
  /** SERVING (true) or NOT_SERVING (false), for the server (`""`) and every fedlab service. */
  setServing(serving: boolean): void;
}

/**
 * Adds the gRPC health checking protocol (`grpc.health.v1.Health`, via grpc-health-check) and server
 * reflection (`grpc.reflection.v1` and `v1alpha`, via @grpc/reflection) to `server`. Every status
 * starts NOT_SERVING; the caller sets SERVING once the server is bound and its store is open.
 */
export function addHealthAndReflection(server: Server): GrpcHealth {
  const services = ['', ...fedlabServiceNames()];
  const health = new HealthImplementation(Object.fromEntries(services.map((s) => [s, 'NOT_SERVING'])));
  health.addToServer(server);
  new ReflectionService(fedlabPackageDefinition()).addToServer(server);
  return {
    setServing(serving) {
      for (const s of services) health.setStatus(s, serving ? 'SERVING' : 'NOT_SERVING');
    },
  };
}
