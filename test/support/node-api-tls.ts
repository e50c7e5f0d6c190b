/**
 * The TLS material a node of the test consortium serves its gRPC API with, as the node's own configuration would
 * name it: the node's TLS key pair, and every organization's TLS CA as the bundle it accepts clients from. Shared by
 * the tests that start an API server over real TLS, so each one does not read the same files its own way.
 */
import { readFile } from 'node:fs/promises';
import { orgPaths } from '../../network/pki/index.ts';
import type { ApiTlsMaterial } from '../../node/api/index.ts';
import type { TestConsortium } from './test-consortium.ts';

export interface NodeApiTls {
  /** The node's host name: the name its TLS certificate is for. */
  readonly host: string;
  readonly server: ApiTlsMaterial;
  /** The organization's TLS CA (PEM): what a client of the node trusts. */
  readonly caPem: Buffer;
  /** A user of the organization: its TLS client certificate and key (PEM). */
  user(name: string): Promise<{ readonly cert: Buffer; readonly key: Buffer }>;
}

/** The first node of `mspId` in the test consortium. */
export async function nodeApiTls(tc: TestConsortium, mspId: string): Promise<NodeApiTls> {
  const local = orgPaths(tc.cryptoDir, mspId);
  const node = tc.consortium.organizations.find((o) => o.mspId === mspId)?.nodes[0];
  if (!node) throw new Error(`the test consortium has no node of ${mspId}`);
  const bundle = await Promise.all(
    tc.consortium.organizations.map((o) => readFile(orgPaths(tc.cryptoDir, o.mspId).tlsca.cert)),
  );
  return {
    host: node.host,
    server: {
      certChain: await readFile(local.node(node).tls.cert),
      privateKey: await readFile(local.node(node).tls.key),
      clientCaBundle: Buffer.concat(bundle),
    },
    caPem: await readFile(local.tlsca.cert),
    async user(name) {
      const tls = local.user(name).tls;
      return { cert: await readFile(tls.cert), key: await readFile(tls.key) };
    },
  };
}
