/** This machine's own addresses, for listeners that serve only the operator of the host they run on. */
import { isIPv4 } from 'node:net';

/**
 * Whether `host` (an address without its port, IPv6 without brackets) is loopback: `localhost`, 127.0.0.0/8, `::1`,
 * or 127.0.0.0/8 mapped into IPv6 (as a dual-stack listener reports an IPv4 peer).
 */
export function isLoopbackHost(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice('::ffff:'.length) : host;
  return host === 'localhost' || host === '::1' || (isIPv4(v4) && v4.startsWith('127.'));
}
