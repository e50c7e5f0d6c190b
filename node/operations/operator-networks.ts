/**
 * `operations.operatorNetworks`: the networks whose machines are the operator's (a monitoring subnet, the node's
 * own non-loopback address), given as CIDR (`10.20.0.0/24`, `fd00:20::/64`) or as one address (`10.20.0.5`).
 */
import { BlockList, isIP } from 'node:net';
import { NodeError } from '../api/index.ts';

const FIELD = 'operations.operatorNetworks';

/** Whether `text` is an IP address or a network in CIDR notation. */
export function isNetwork(text: string): boolean {
  return parseNetwork(text) !== undefined;
}

/**
 * Whether a peer's address (as a socket reports it, IPv4 mapped into IPv6 included) lies in one of `networks`.
 * @throws NodeError `INVALID_ARGUMENT` (field `operations.operatorNetworks`) naming an entry that is not a network.
 */
export function withinNetworks(networks: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const text of networks) {
    const network = parseNetwork(text);
    if (network === undefined) {
      throw new NodeError('INVALID_ARGUMENT', `"${text}" is not an IP address or a network in CIDR notation`, {
        field: FIELD,
      });
    }
    list.addSubnet(network.address, network.prefix, network.family);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function parseNetwork(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  const address = match?.[1] ?? '';
  const family = isIP(address);
  if (family === 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefix = match?.[2] === undefined ? bits : Number(match[2]);
  return prefix > bits ? undefined : { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}
