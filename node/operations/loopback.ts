/** This machine's own addresses, for listeners that serve only the operator of the host they run on. */
import { isIP, isIPv4 } from 'node:net';

/**
 * Whether `host` (an address without its port, IPv6 without brackets) is loopback: `localhost`, 127.0.0.0/8, `::1`,
 * or 127.0.0.0/8 mapped into IPv6 (as a dual-stack listener reports an IPv4 peer).
 */
export function isLoopbackHost(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice('::ffff:'.length) : host;
  return host === 'localhost' || host === '::1' || (isIPv4(v4) && v4.startsWith('127.'));
}

/**
 * Whether a request's Host header names the listener by address: `localhost` or an IP literal, with any port or
 * none. A listener that trusts a request for where it comes from (loopback, the host, an operations network) must
 * also check this: a page of another site whose name was rebound to that address (DNS rebinding) comes from there
 * too, and reads the answer as its own origin; its requests carry its own name. The port is not compared: a rebound
 * page is already on the listener's port, while a forwarded one (`ssh -L`, `docker -p`, port 80) is not.
 */
export function addressedDirectly(host: string | undefined): boolean {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::\d+)?$/.exec(host ?? '');
  if (match === null) return false;
  const name = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return name.toLowerCase() === 'localhost' || isIP(name) !== 0;
}
