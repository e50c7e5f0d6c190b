import { describe, expect, it } from 'vitest';
import { dialMultiaddr, listenMultiaddr } from './listen-address.ts';

describe('p2p listen addresses', () => {
  it('listens on IPv4 and IPv6 hosts, the latter in brackets', () => {
    expect(listenMultiaddr('127.0.0.1:7201')).toBe('/ip4/127.0.0.1/tcp/7201');
    expect(listenMultiaddr('[fd00::5]:7051')).toBe('/ip6/fd00::5/tcp/7051');
    expect(listenMultiaddr('0.0.0.0:7051')).toBe('/ip4/0.0.0.0/tcp/7051');
  });

  it("is dialled at its own address, or at the node's public host (a name: /dns) when it listens on a wildcard", () => {
    expect(dialMultiaddr('[fd00::5]:7051', 'node0.hangzhou.example')).toBe('/ip6/fd00::5/tcp/7051');
    expect(dialMultiaddr('0.0.0.0:7051', 'node0.hangzhou.example')).toBe('/dns/node0.hangzhou.example/tcp/7051');
    expect(dialMultiaddr('[::]:7051', '10.1.2.3')).toBe('/ip4/10.1.2.3/tcp/7051');
  });
});
