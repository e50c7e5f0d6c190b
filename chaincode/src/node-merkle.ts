/**
 * The chaincode's and the node's RFC 9162 functions, on node:crypto (OpenSSL) SHA-256: merkle.ts holds the
 * algorithm, this module only binds the hash.
 */
import { createHash } from 'node:crypto';
import { createMerkle, type Sha256 } from './merkle';

/** SHA-256 of the concatenated parts through OpenSSL, without concatenating them. */
export const nodeSha256: Sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export const { hashLeaf, hashChildren, verifyInclusion, verifyConsistency } = createMerkle(nodeSha256);
