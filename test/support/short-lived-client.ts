/**
 * A client of the demo consortium whose certificate, issued by its organisation's CA, expires `lifetimeMs` from
 * now: for tests of what happens to its transactions once it has expired.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connectToLedger, type LedgerConnection } from '../../network/client/index.ts';
import { ledgerNode } from '../../network/consortium-ledger.ts';
import { issueCertificate, orgPaths } from '../../network/pki/index.ts';
import type { TestConsortium } from './test-consortium.ts';

export interface ShortLivedClient {
  readonly connection: LedgerConnection;
  readonly notAfter: Date;
}

export async function connectShortLivedClient(
  members: TestConsortium,
  address: string,
  mspId: string,
  lifetimeMs: number,
): Promise<ShortLivedClient> {
  const ca = orgPaths(members.cryptoDir, mspId).ca;
  const issuer = {
    certificate: new X509Certificate(await readFile(ca.cert)),
    privateKey: createPrivateKey(await readFile(ca.key)),
  };
  const org = members.consortium.organizations.find((o) => o.mspId === mspId);
  const issued = await issueCertificate({
    subject: { commonName: 'short-lived', organization: mspId, locality: org?.city ?? '' },
    profile: { kind: 'identity', nodeOU: 'client', attrs: {} },
    issuer,
    notAfter: new Date(Date.now() + lifetimeMs),
  });
  const node = ledgerNode(members.consortium);
  const tlsRootCertPem = await readFile(orgPaths(members.cryptoDir, node.org.mspId).tlsca.cert, 'utf8');
  const connection = connectToLedger(
    { address, tlsRootCertPem, hostAlias: node.peer.host },
    { mspId, certificatePem: issued.certificatePem, privateKey: issued.privateKeyPem },
  );
  return { connection, notAfter: issued.certificate.validToDate };
}
