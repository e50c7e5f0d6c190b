/**
 * Whether a file's bytes are a private key, in any form the consortium's keys are stored: PEM (an MSP's, a node's
 * signing key), DER (PKCS#8, SEC1, PKCS#1: a key converted for a Kubernetes Secret or an HSM export), or a libp2p
 * key's protobuf (a node's p2p.key). Ingest refuses such a content_file: key material is never a credit record.
 */
import { createPrivateKey } from 'node:crypto';

const PRIVATE_KEY_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** ASN.1 SEQUENCE: how every DER private key starts (checked first: parsing is the costly part). */
const DER_SEQUENCE = 0x30;
const DER_KEY_TYPES = ['pkcs8', 'sec1', 'pkcs1'] as const;

export function isPrivateKey(bytes: Buffer): boolean {
  if (bytes.includes('PRIVATE KEY-----') && PRIVATE_KEY_PEM.test(bytes.toString('latin1'))) return true;
  if (bytes[0] === DER_SEQUENCE && DER_KEY_TYPES.some((type) => parsesAs(bytes, type))) return true;
  return isLibp2pPrivateKey(bytes);
}

function parsesAs(bytes: Buffer, type: (typeof DER_KEY_TYPES)[number]): boolean {
  try {
    createPrivateKey({ key: bytes, format: 'der', type });
    return true;
  } catch (err) {
    // An encrypted PKCS#8 key parses only with its passphrase: still a key.
    return (err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE';
  }
}

/**
 * libp2p's PrivateKey message, the whole file: field 1 (KeyType: 0 RSA, 1 Ed25519, 2 secp256k1, 3 ECDSA) as a
 * varint, then field 2 (Data) holding every byte left — read here, not through @libp2p/crypto, which the CLI does
 * not load.
 */
function isLibp2pPrivateKey(bytes: Buffer): boolean {
  if (bytes.length < 4 || bytes[0] !== 0x08 || bytes.readUInt8(1) > 3 || bytes[2] !== 0x12) return false;
  let length = 0;
  for (let at = 3, shift = 0; at < bytes.length && shift < 35; at++, shift += 7) {
    const byte = bytes.readUInt8(at);
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return length > 0 && at + 1 + length === bytes.length;
  }
  return false;
}
