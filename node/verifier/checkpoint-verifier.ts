/**
 * Signed checkpoints and the proofs between them, on the crypto port: a checkpoint note signed by a registered log
 * key of its origin's organisation (the rule AnchorCheckpoint applies on chain), and RFC 9162 consistency between
 * two checkpoints of one log. For auditors and monitors that hold checkpoints rather than attestations.
 */
import {
  type Checkpoint,
  createMerkle,
  equalBytes,
  MerkleProofError,
  parseCheckpoint,
} from '../../chaincode/src/protocol-portable.ts';
import { utf8 } from './bytes.ts';
import { verifyP256 } from './p256.ts';
import type { TrustBundle, TrustedKey } from './trust-bundle.ts';

export type CheckpointCheck =
  | { readonly ok: true; readonly checkpoint: Checkpoint; readonly owner: string; readonly logKey: TrustedKey }
  | {
      readonly ok: false;
      readonly code: 'BAD_FORMAT' | 'ORIGIN_NOT_REGISTERED' | 'BAD_CHECKPOINT_SIGNATURE';
      readonly reason: string;
    };

export type ConsistencyCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'ORIGIN_MISMATCH' | 'BAD_CONSISTENCY_PROOF'; readonly reason: string };

/** Checkpoint checks bound to one trust bundle (and so to its crypto backend). */
export function checkpointVerifier(bundle: TrustBundle): {
  verifyCheckpoint(note: string): CheckpointCheck;
  verifyConsistency(older: Checkpoint, newer: Checkpoint, proof: readonly Uint8Array[]): ConsistencyCheck;
} {
  const merkle = createMerkle((...parts) => bundle.crypto.sha256(...parts));
  return {
    /** A note (attacker-controlled) signed by a registered log key of its origin's organisation, in any window. */
    verifyCheckpoint(note) {
      const parsed = parseCheckpoint(note);
      if (!parsed.ok)
        return { ok: false, code: 'BAD_FORMAT', reason: `not a C2SP signed checkpoint: ${parsed.reason}` };
      const cp = parsed.checkpoint;
      const owner = bundle.originOwner(cp.origin);
      if (owner === undefined) {
        return {
          ok: false,
          code: 'ORIGIN_NOT_REGISTERED',
          reason: `log origin "${cp.origin}" is not registered in the trust bundle`,
        };
      }
      const message = utf8(cp.body);
      for (const key of bundle.keysOf(owner, 'log')) {
        const signed = cp.signatures.some(
          (line) =>
            line.name === cp.origin &&
            equalBytes(line.keyId, key.noteKeyId) &&
            verifyP256(bundle.crypto, key.publicKey, message, line.signature).ok,
        );
        if (signed) return { ok: true, checkpoint: cp, owner, logKey: key };
      }
      return {
        ok: false,
        code: 'BAD_CHECKPOINT_SIGNATURE',
        reason: `no signature on checkpoint ${cp.origin} at size ${cp.size} verifies with a registered log key of ${owner}`,
      };
    },
    /** RFC 9162 §2.1.4.2: `newer` extends `older` (both already verified with verifyCheckpoint). */
    verifyConsistency(older, newer, proof) {
      if (older.origin !== newer.origin) {
        return { ok: false, code: 'ORIGIN_MISMATCH', reason: `checkpoints of ${older.origin} and ${newer.origin}` };
      }
      try {
        merkle.verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, proof);
        return { ok: true };
      } catch (err) {
        if (!(err instanceof MerkleProofError)) throw err;
        return {
          ok: false,
          code: 'BAD_CONSISTENCY_PROOF',
          reason: `${older.origin} ${older.size} → ${newer.size}: ${err.message}`,
        };
      }
    },
  };
}
