import { createPrivateKey, type KeyObject } from 'node:crypto';
import { msp } from '@hyperledger/fabric-protos';
import { signP256 } from '../../crypto/index.ts';
import type { Signer } from '../types.ts';

export interface SignerOptions {
  readonly mspId: string;
  readonly certificatePem: string;
  readonly privateKey: KeyObject | string;
}

/** A signing identity of the ledger (its peer or its orderer), serialized as Fabric's msp.SerializedIdentity. */
export function createSigner(options: Readonly<SignerOptions>): Signer {
  const key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
  return {
    mspId: options.mspId,
    serializedIdentity: serializeIdentity(options.mspId, options.certificatePem),
    sign: (data) => signP256(key, data),
  };
}

export function serializeIdentity(mspId: string, certificatePem: string): Uint8Array {
  const sid = new msp.SerializedIdentity();
  sid.setMspid(mspId);
  sid.setIdBytes(Buffer.from(certificatePem));
  return sid.serializeBinary();
}
