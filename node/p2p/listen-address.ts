/**
 * A libp2p host's `p2p.listen` (host:port, an IPv6 host in brackets) as multiaddrs: the one it listens on, and the
 * one other nodes are told to dial (registered on chain). A wildcard host listens everywhere but cannot be dialled:
 * others are told the node's public host instead.
 */
import { isIP } from 'node:net';
import { splitHostPort } from '../../network/host-port.ts';

/** The multiaddr a host listening on `listen` listens on. */
export function listenMultiaddr(listen: string): string {
  const { host, port } = splitHostPort(listen);
  return multiaddrOf(host, port);
}

/** Where other nodes dial a host listening on `listen`: its own address, or `publicHost` for a wildcard one. */
export function dialMultiaddr(listen: string, publicHost: string): string {
  const { host, port } = splitHostPort(listen);
  return multiaddrOf(host === '0.0.0.0' || host === '::' ? publicHost : host, port);
}

/** `/ip4/…`, `/ip6/…`, or `/dns/…` for a name, with `/tcp/port`. */
function multiaddrOf(host: string, port: number): string {
  const kind = isIP(host);
  return `/${kind === 6 ? 'ip6' : kind === 4 ? 'ip4' : 'dns'}/${host}/tcp/${String(port)}`;
}
