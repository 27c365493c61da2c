import { readdirSync, readFileSync } from 'node:fs';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { RUNNING_FROM_RELEASE } from '@fedlab/model';

/** The repository's proto folder: the wire contract that libs/adapters/proto is generated from (a copy beside the release's bundle). */
export const FEDLAB_PROTO_ROOT = RUNNING_FROM_RELEASE ? path.join(__dirname, 'proto') : path.resolve(__dirname, '../../../../proto');
/** The compiled descriptors of `proto/` exactly as buf builds them (`npm run generate`). */
export const FEDLAB_DESCRIPTOR_SET = RUNNING_FROM_RELEASE ? path.join(__dirname, 'fedlab.binpb') : path.resolve(__dirname, '../../proto/src/gen/fedlab.binpb');

let cached: PackageDefinition | undefined;

/**
 * The descriptors of every `fedlab/v1/*.proto` file and of `grpc.health.v1`, parsed at run time
 * (ts-proto's generated code carries no descriptors). Loaded once per process. What server reflection
 * serves for fedlab's files are buf's own compiled descriptors, one per file with its imports: the
 * ones proto-loader rebuilds merge the files of a package and name map-entry types without their
 * `Entry` suffix, which descriptor pools (grpcurl, Python's, Go's) refuse.
 */
export function fedlabPackageDefinition(): PackageDefinition {
  if (!cached) {
    const files = readdirSync(path.join(FEDLAB_PROTO_ROOT, 'fedlab/v1'))
      .filter((f) => f.endsWith('.proto'))
      .sort()
      .map((f) => `fedlab/v1/${f}`);
    const loaded = loadSync([...files, healthProtoPath], { includeDirs: [FEDLAB_PROTO_ROOT] });
    const real = fileDescriptors(readFileSync(FEDLAB_DESCRIPTOR_SET));
    cached = Object.fromEntries(
      Object.entries(loaded).map(([name, definition]) => {
        // Only the health service's own files come from proto-loader (they are not in fedlab's set).
        const own = 'fileDescriptorProtos' in definition ? (definition.fileDescriptorProtos as Buffer[]).filter((b) => !isFedlabFile(b)) : [];
        return [name, { ...definition, fileDescriptorProtos: [...real, ...own] }];
      }),
    ) as PackageDefinition;
  }
  return cached;
}

/** Splits an encoded FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into its files. */
function fileDescriptors(set: Uint8Array): Buffer[] {
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}

/** Whether an encoded FileDescriptorProto describes a file of package fedlab (name field 1, package field 2). */
function isFedlabFile(file: Uint8Array): boolean {
  const reader = new BinaryReader(file);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 2 && wireType === WireType.LengthDelimited) return reader.string().startsWith('fedlab.');
    reader.skip(wireType);
  }
  return false;
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
