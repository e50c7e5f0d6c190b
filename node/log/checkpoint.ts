/**
 * C2SP tlog-checkpoint v1.0.0 bodies signed as C2SP signed notes, in exactly the form AnchorCheckpoint accepts
 * (chaincode/src/checkpoints.ts): one signature line named for the origin, key ID = the first 4 bytes of
 * SHA-256(SPKI DER) (signed-note type 0x02, transparency-dev/witness ECDSA keys; the registry's `kid` prefix),
 * and a low-S DER ECDSA P-256 signature over the body including its final newline. The body and signature lines
 * are formatted by the chaincode's own signed-note module, so the two sides cannot drift apart.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { formatCheckpointBody, formatSignatureLine, kidOf } from '../../chaincode/src/protocol.ts';
import { signP256 } from '../../network/crypto/index.ts';
import { TransparencyLogError } from './errors.ts';

/** The log's checkpoint key (DESIGN §3: a key of its own, separate from the MSP identity). */
export interface LogSigner {
  /** Hex SHA-256 of the public key's SPKI DER: the key ID the on-chain registry knows it by. */
  readonly kid: string;
  /** The signed-note key ID: the first 4 bytes of `kid`. */
  readonly keyId: Uint8Array;
  /** Signs SHA-256(message); the signature must be DER and low-S, as Fabric and the chaincode require. */
  sign(message: Uint8Array): Uint8Array;
}

/** A log signer over an ECDSA P-256 private key, signing through node:crypto with low-S normalisation. */
export function p256LogSigner(privateKey: KeyObject): LogSigner {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TransparencyLogError('INVALID_ARGUMENT', 'the log key must be an ECDSA P-256 private key');
  }
  const kid = kidOf(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  return { kid, keyId: Buffer.from(kid.slice(0, 8), 'hex'), sign: (message) => signP256(privateKey, message) };
}

export interface SignedCheckpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
  /** The signed note, verbatim: what AnchorCheckpoint and offline verifiers take. */
  readonly note: string;
}

/** Signs the checkpoint (origin, size, root) as a signed note with one signature named for the origin. */
export function signCheckpoint(origin: string, size: number, rootHash: Buffer, signer: LogSigner): SignedCheckpoint {
  const body = formatCheckpointBody(origin, BigInt(size), rootHash);
  const signature = signer.sign(Buffer.from(body, 'utf8'));
  return { origin, size, rootHash, note: `${body}\n${formatSignatureLine(origin, signer.keyId, signature)}` };
}
