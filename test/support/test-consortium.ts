/**
 * The demo consortium's crypto material, generated once per test file into a temp dir, and the ways tests act
 * as its members: official-client connections and raw identities.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectToLedger, type LedgerConnection } from '../../network/client/index.ts';
import {
  generateCryptoMaterial,
  loadConsortium,
  loadSigningIdentity,
  orgPaths,
  type Consortium,
  type SigningIdentity,
} from '../../network/pki/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';

export const CONSORTIUM_FILE = new URL('../../network/consortium.yaml', import.meta.url).pathname;

/** The `lianxin` CLI's flags naming `mspId`'s User1 and the consortium, whatever it calls. */
const identityFlags = (cryptoDir: string, mspId: string): string[] => [
  '--crypto-dir',
  cryptoDir,
  '--msp',
  mspId,
  '--consortium',
  CONSORTIUM_FILE,
];

/** The `lianxin` CLI's connection flags for `mspId`'s User1 calling the node at `address` (as npm start prints them). */
export const cliFlags = (address: string, cryptoDir: string, mspId: string): string[] => [
  '--node',
  address,
  ...identityFlags(cryptoDir, mspId),
];

/** The `lianxin` CLI's flags for `mspId`'s User1 calling the ledger at `ledger` directly (bundle, consent, report). */
export const ledgerCliFlags = (ledger: string, cryptoDir: string, mspId: string): string[] => [
  ...identityFlags(cryptoDir, mspId),
  '--ledger',
  ledger,
];

export interface TestConsortium {
  readonly consortium: Consortium;
  readonly dir: string;
  readonly cryptoDir: string;
  identity(mspId: string, user?: string): Promise<SigningIdentity>;
  /**
   * An official fabric-gateway connection to a ledger at `address`, as `user` of `mspId`; with `clientTls`, the
   * user's TLS client certificate is presented (mutual TLS).
   */
  connect(address: string, mspId: string, user?: string, options?: { clientTls?: boolean }): Promise<LedgerConnection>;
  cleanup(): Promise<void>;
}

export async function createTestConsortium(): Promise<TestConsortium> {
  const dir = await mkdtemp(join(tmpdir(), 'lianxin-test-'));
  const cryptoDir = join(dir, 'crypto');
  const consortium = await loadConsortium(CONSORTIUM_FILE);
  await generateCryptoMaterial(consortium, cryptoDir);
  const node = ledgerNode(consortium);
  const tlsRootCertPem = await readFile(orgPaths(cryptoDir, node.org.mspId).tlsca.cert, 'utf8');
  const identity = (mspId: string, user = 'User1') =>
    loadSigningIdentity(orgPaths(cryptoDir, mspId).user(user).msp.dir, mspId);
  return {
    consortium,
    dir,
    cryptoDir,
    identity,
    async connect(address, mspId, user = 'User1', options = {}) {
      const tls = orgPaths(cryptoDir, mspId).user(user).tls;
      const clientTls = options.clientTls
        ? { certPem: await readFile(tls.cert, 'utf8'), keyPem: await readFile(tls.key, 'utf8') }
        : undefined;
      return connectToLedger(
        { address, tlsRootCertPem, hostAlias: node.peer.host, ...(clientTls ? { clientTls } : {}) },
        await identity(mspId, user),
      );
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
