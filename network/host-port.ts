/** `host:port` as written in configs and flags (an IPv6 host in brackets), split; the brackets dropped. */
export function splitHostPort(address: string): { readonly host: string; readonly port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}
