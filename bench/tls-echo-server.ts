/**
 * `node --import tsx tls-echo-server.ts <tlsCertFile> <tlsKeyFile>`: serves the echo of tls-echo.ts over TLS on a
 * free loopback port, prints `listening <host:port>`, and exits on SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE } from './tls-echo.ts';

const [certFile, keyFile] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined)
  throw new Error('usage: tls-echo-server.ts <tlsCertFile> <tlsKeyFile>');
const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
const server = new grpc.Server();
server.addService(ECHO_SERVICE, {
  echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    callback(null, call.request);
  },
  // Writes with back-pressure: what a server streaming answers as fast as the client takes them does.
  stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    const messages = call.request.readUInt32BE(0);
    const payload = Buffer.alloc(call.request.readUInt32BE(4), 0x2a);
    let sent = 0;
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
    });
    const write = () => {
      while (sent < messages && !cancelled) {
        sent++;
        if (!call.write(payload)) {
          call.once('drain', write);
          return;
        }
      }
      if (!cancelled) call.end();
    };
    write();
  },
});
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync(
    '127.0.0.1:0',
    grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]),
    (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    },
  );
});
process.once('SIGTERM', () => {
  server.tryShutdown(() => process.exit(0));
});
process.stdout.write(`listening 127.0.0.1:${port}\n`);
