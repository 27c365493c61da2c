import { Metadata } from '@grpc/grpc-js';
import { fromServiceError } from '@fedlab/wire';

/** A generated grpc-js unary method, bound to its client. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: unknown, response: Res) => void,
) => unknown;

/** Calls a unary method with a deadline and turns gRPC errors back into FedlabErrors. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(fromServiceError(error)) : resolve(response)));
  });
}
