/** A callback-style unary gRPC call as a promise; a failure rejects with the grpc-js ServiceError itself. */
import type * as grpc from '@grpc/grpc-js';

export function unary<Req, Res>(
  call: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(req, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}
