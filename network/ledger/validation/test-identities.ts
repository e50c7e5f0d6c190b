/**
 * Test helper: real P-256 X.509 organisations (a self-signed CA issuing NodeOU leaf certificates) and a small
 * IdentityVerifier with the production interface. Not for production: it checks only issuer, validity and the OU.
 */
import 'reflect-metadata'; // @peculiar/x509 needs it (tsyringe)
import { KeyObject, X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { msp } from '@hyperledger/fabric-protos';
import { signP256, verifyP256 } from '../../crypto/index.ts';
import type { Identity, IdentityCheck, IdentityVerifier, Signer } from '../types.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
type NodeOU = Identity['nodeOU'];

export interface TestSigner extends Signer {
  readonly certificatePem: string;
  readonly nodeOU: NodeOU;
}

export interface TestOrg {
  readonly mspId: string;
  readonly caPem: string;
  issue(nodeOU: NodeOU, commonName?: string): Promise<TestSigner>;
}

let serial = 1;

export async function createTestOrg(mspId: string): Promise<TestOrg> {
  const caKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const caName = `CN=ca.${mspId}, O=${mspId}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return {
    mspId,
    caPem: ca.toString('pem'),
    async issue(nodeOU, commonName = `${nodeOU}${String(serial)}.${mspId}`) {
      const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: `CN=${commonName}, OU=${nodeOU}, O=${mspId}`,
        issuer: caName,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: SIGNING,
        extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
      });
      const certificatePem = leaf.toString('pem');
      const privateKey = KeyObject.from(keys.privateKey);
      return {
        mspId,
        nodeOU,
        certificatePem,
        serializedIdentity: serializeIdentity(mspId, certificatePem),
        sign: (data: Uint8Array) => signP256(privateKey, data),
      };
    },
  };
}

export function serializeIdentity(mspId: string, certificatePem: string): Uint8Array {
  const id = new msp.SerializedIdentity();
  id.setMspid(mspId);
  id.setIdBytes(Buffer.from(certificatePem, 'utf8'));
  return id.serializeBinary();
}

/** Validates creators against the given orgs' CAs and reads the OU from the subject. */
export class TestIdentityVerifier implements IdentityVerifier {
  readonly #cas: Map<string, X509Certificate>;

  constructor(orgs: readonly Pick<TestOrg, 'mspId' | 'caPem'>[]) {
    this.#cas = new Map(orgs.map((org) => [org.mspId, new X509Certificate(org.caPem)]));
  }

  validate(serializedIdentity: Uint8Array, at: Date = new Date()): IdentityCheck {
    let mspId: string;
    let certificate: X509Certificate;
    try {
      const id = msp.SerializedIdentity.deserializeBinary(serializedIdentity);
      mspId = id.getMspid();
      certificate = new X509Certificate(id.getIdBytes_asU8());
    } catch {
      return { ok: false, reason: 'cannot decode the serialized identity' };
    }
    const ca = this.#cas.get(mspId);
    if (!ca) return { ok: false, reason: `MSP ${mspId} is not a channel member` };
    if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) {
      return { ok: false, reason: `certificate is not issued by the ${mspId} CA` };
    }
    if (at < new Date(certificate.validFrom) || at > new Date(certificate.validTo)) {
      return { ok: false, reason: 'certificate is not valid at this time' };
    }
    const ou = /^OU=(.*)$/m.exec(certificate.subject)?.[1];
    if (ou !== 'client' && ou !== 'peer' && ou !== 'admin' && ou !== 'orderer') {
      return { ok: false, reason: 'certificate has no NodeOU' };
    }
    return {
      ok: true,
      identity: { mspId, certificate, publicKey: certificate.publicKey, nodeOU: ou, serialized: serializedIdentity },
    };
  }

  verifySignature(
    serializedIdentity: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    at?: Date,
  ): IdentityCheck {
    const check = this.validate(serializedIdentity, at);
    if (!check.ok) return check;
    const verified = verifyP256(check.identity.publicKey, message, signature);
    return verified.ok ? check : { ok: false, reason: verified.reason };
  }
}
