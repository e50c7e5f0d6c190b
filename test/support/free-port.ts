/**
 * Loopback ports free now: the OS's pick, released at once, for a server that must be told its address before it
 * starts (a node's operations or p2p listener, a chaincode server). Another process could take the port in between;
 * on loopback in a test run that does not happen in practice.
 */
import { createServer, type AddressInfo } from 'node:net';

/** A loopback TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

/** `127.0.0.1:<port>` of a loopback TCP port nothing listens on now. */
export async function freeAddress(): Promise<string> {
  return `127.0.0.1:${String(await freePort())}`;
}
