/**
 * Loopback ports free now, for a server that must be told its address before it starts (a node's operations or p2p
 * listener, a chaincode server, a consortium file's nodes). They are drawn below Linux's ephemeral range: a port
 * from that range (what listening on port 0 gives) can be taken by any outgoing connection between the pick and
 * the server's bind, which a full test run makes by the thousand (seen: a node's operations port taken so).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Below the well-known demo ports (7050–9448), which a running `npm start` holds. */
const LOWEST = 10_000;

/** The first port Linux gives outgoing connections (net.ipv4.ip_local_port_range); 32768 is its default. */
export const EPHEMERAL_START = ((): number => {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST + 1_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
})();

/** A loopback TCP port below the ephemeral range that nothing listens on now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (EPHEMERAL_START - LOWEST));
    if (await isFree(port)) return port;
  }
}

/** `127.0.0.1:<port>` of a loopback TCP port nothing listens on now. */
export async function freeAddress(): Promise<string> {
  return `127.0.0.1:${String(await freePort())}`;
}

/** Whether a listener can bind 127.0.0.1:`port` now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}
