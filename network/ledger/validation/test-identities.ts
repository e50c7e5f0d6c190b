/**
 * Test helper: real P-256 organisations (a CA issuing NodeOU leaf certificates through the project's PKI) and the
 * production channel MSP verifier over them, so ledger tests check identities exactly as the ledger does.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { issueCertificate, type CertificateAuthority } from '../../pki/index.ts';
import { ChannelMsps, createSigner, type ChannelMspsOptions } from '../msp/index.ts';
import type { Identity, Signer } from '../types.ts';

type NodeOU = Identity['nodeOU'];

export interface TestSigner extends Signer {
  readonly certificatePem: string;
  /** For signing what a client builds itself (proposals, in network/ledger/chaincode/testing.ts's invocationOf). */
  readonly privateKey: KeyObject;
  readonly nodeOU: NodeOU;
}

export interface TestOrg {
  readonly mspId: string;
  readonly caPem: string;
  /** A leaf certificate; `validity` defaults to the PKI's (from now on). */
  issue(
    nodeOU: NodeOU,
    commonName?: string,
    validity?: { readonly notBefore: Date; readonly notAfter: Date },
  ): Promise<TestSigner>;
}

let serial = 1;

export async function createTestOrg(mspId: string): Promise<TestOrg> {
  const ca: CertificateAuthority = await issueCertificate({
    subject: { commonName: `ca.${mspId}`, organization: mspId, locality: 'Test' },
    profile: { kind: 'ca' },
  });
  return {
    mspId,
    caPem: ca.certificate.toString(),
    async issue(nodeOU, commonName = `${nodeOU}${String(serial++)}.${mspId}`, validity) {
      const leaf = await issueCertificate({
        subject: { commonName, organization: mspId, locality: 'Test' },
        profile: { kind: 'identity', nodeOU, attrs: {} },
        issuer: ca,
        ...validity,
      });
      const signer = createSigner({ mspId, certificatePem: leaf.certificatePem, privateKey: leaf.privateKey });
      return { ...signer, certificatePem: leaf.certificatePem, privateKey: leaf.privateKey, nodeOU };
    },
  };
}

/** The channel MSPs of the given test orgs, as the ledger builds them from its genesis block. */
export function channelMspsOf(
  orgs: readonly Pick<TestOrg, 'mspId' | 'caPem'>[],
  options: ChannelMspsOptions = {},
): ChannelMsps {
  return new ChannelMsps(
    orgs.map((org) => ({ mspId: org.mspId, rootCerts: [new X509Certificate(org.caPem)] })),
    options,
  );
}
