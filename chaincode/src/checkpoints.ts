/**
 * Checkpoint anchoring. AnchorCheckpoint accepts a C2SP checkpoint from the caller's own log only if a registered log
 * key valid now, not revoked and not replaced by the key of the origin's last anchor signed it (verifyLogSignature), the
 * size never shrinks and an RFC 9162 consistency proof links it to the previously anchored root — so no institution
 * can rewrite or fork its history. The same transaction carries the index entries of the credit-record leaves the new
 * checkpoint covers (record-index.ts).
 */
import type { Context } from 'fabric-contract-api';
import { fail, invalid } from './errors';
import { parseP256Spki, verifyP256LowS } from './keys';
import { equalBytes, MerkleProofError } from './merkle';
import { verifyConsistency } from './node-merkle';
import { listPage, type Page } from './pagination';
import { findOrigin, isKeyValidAt, requireMember, type PublicKeyRecord } from './registry';
import { decodeBase64Strict, parseCheckpoint, type Checkpoint } from './signed-note';
import { encodeAnchoredEvent } from './anchored-event';
import {
  binaryOf,
  checkpointHistoryKey,
  indexSha256Of,
  parseIndexInput,
  requireOrigin,
  writeIndex,
} from './record-index';
import { getJson, NS, putJson, txTime } from './state';
import { isoTime, requireJson } from './validation';

export interface AnchoredCheckpoint {
  readonly origin: string;
  readonly mspId: string;
  /** Decimal tree size. */
  readonly size: string;
  /** Base64 root hash, as in the checkpoint. */
  readonly rootHash: string;
  /** The signed note exactly as submitted. */
  readonly checkpoint: string;
  /** The registered log key whose signature was accepted. */
  readonly kid: string;
  readonly previousSize: string | null;
  readonly indexCount: number;
  /**
   * Lower-case hex SHA-256 of the entries' binary encoding, which the Anchored event alone carries (record-index.ts);
   * absent when there are none, for the first format's JSON entries (stored in chunks) and for anchors committed
   * before chaincode 0.2 (stored as sent).
   */
  readonly indexSha256?: string;
  readonly txId: string;
  /** The transaction's timestamp: the submitter's claim, not checked by any peer; the block orders anchors. */
  readonly anchoredAt: string;
}

const MAX_PROOF_HASHES = 128;

export async function anchorCheckpoint(
  ctx: Context,
  note: string,
  consistencyProofJson: string,
  indexEntriesArgument: string,
): Promise<AnchoredCheckpoint> {
  const parsed = parseCheckpoint(note);
  if (!parsed.ok) return fail('CHECKPOINT_MALFORMED', `"checkpoint" is not a C2SP signed checkpoint: ${parsed.reason}`);
  const cp = parsed.checkpoint;
  if (cp.size === 0n || cp.size > BigInt(Number.MAX_SAFE_INTEGER))
    return fail('CHECKPOINT_MALFORMED', `"checkpoint" size must be from 1 to ${Number.MAX_SAFE_INTEGER}`);
  const size = Number(cp.size);
  const proof = parseProof(consistencyProofJson);
  const index = parseIndexInput(ctx, indexEntriesArgument);

  const { caller } = await requireMember(ctx);
  const origin = await findOrigin(ctx, cp.origin);
  if (origin === undefined) return fail('CHECKPOINT_UNKNOWN_ORIGIN', `log origin ${cp.origin} is not registered`);
  if (origin.mspId !== caller.mspId)
    return fail('CHECKPOINT_FOREIGN_ORIGIN', `log origin ${cp.origin} belongs to ${origin.mspId}, not ${caller.mspId}`);
  const now = txTime(ctx);
  const previous = await getJson<AnchoredCheckpoint>(ctx, NS.checkpoint, [cp.origin]);
  const kid = await verifyLogSignature(ctx, cp, caller.mspId, now, previous);

  const previousSize = previous === undefined ? 0 : Number(previous.size);
  if (previous === undefined) {
    if (proof.length !== 0) invalid('consistencyProof', 'must be empty for the first checkpoint of an origin');
  } else {
    checkConsistency(previous, cp, proof);
  }
  // Leaf indexes strictly increase (parseIndexInput checked), so the first and last bound them all.
  const bounds: [number, number][] =
    index.count === 0
      ? []
      : [
          [0, index.firstLeaf],
          [index.count - 1, index.lastLeaf],
        ];
  for (const [i, leaf] of bounds) {
    if (leaf < previousSize || leaf >= size) {
      return fail(
        'INDEX_LEAF_OUT_OF_RANGE',
        `"indexEntries[${i}].leafIndex" ${leaf} is not among the leaves this checkpoint adds [${previousSize}, ${size})`,
      );
    }
  }

  const txId = ctx.stub.getTxID();
  const anchoredAt = isoTime(now);
  const indexSha256 = indexSha256Of(index);
  const anchored: AnchoredCheckpoint = {
    origin: cp.origin,
    mspId: caller.mspId,
    size: cp.size.toString(),
    rootHash: Buffer.from(cp.rootHash).toString('base64'),
    checkpoint: note,
    kid,
    previousSize: previous === undefined ? null : previous.size,
    indexCount: index.count,
    ...(indexSha256 === undefined ? {} : { indexSha256 }),
    txId,
    anchoredAt,
  };
  await putJson(ctx, NS.checkpoint, [cp.origin], anchored);
  await putJson(ctx, NS.checkpointHistory, checkpointHistoryKey(cp.origin, size), anchored);
  await writeIndex(ctx, index, cp.origin, size);
  // The entries travel in the event (anchored-event.ts): followers need not ask the chain for them, and entries
  // sent in the binary encoding are on chain only there.
  ctx.stub.setEvent(
    'Anchored',
    encodeAnchoredEvent(
      { anchoredAt, indexCount: index.count, origin: cp.origin, size: anchored.size, txId },
      index.count === 0 ? undefined : binaryOf(index),
    ),
  );
  return anchored;
}

/**
 * signed-note: signatures by unknown keys are ignored; one valid signature named for the origin is required.
 *
 * The transaction's time is the submitter's claim (no Fabric peer checks a proposal's timestamp), so a key whose window
 * is closed could be brought back by backdating. What is ordered on chain before this transaction bounds that: a
 * revoked key is refused by its state; every key is judged no earlier than the origin's previous anchor claimed; and a
 * rotated key is refused once the origin has anchored with its replacement (or a later one), so that a leaked
 * rotated-out key cannot extend the log after the node moved on.
 */
async function verifyLogSignature(
  ctx: Context,
  cp: Checkpoint,
  mspId: string,
  now: number,
  previous: AnchoredCheckpoint | undefined,
): Promise<string> {
  const candidates = cp.signatures.filter((sig) => sig.name === cp.origin);
  if (candidates.length > 0) {
    const keys: PublicKeyRecord[] = [];
    for await (const { value } of ctx.stub.getStateByPartialCompositeKey(NS.key, [mspId]))
      keys.push(JSON.parse(Buffer.from(value).toString('utf8')) as PublicKeyRecord);
    const judgedAt = previous === undefined ? now : Math.max(now, Date.parse(previous.anchoredAt));
    const message = Buffer.from(cp.body, 'utf8');
    for (const key of keys) {
      if (key.role !== 'log' || key.status === 'revoked' || !isKeyValidAt(key, judgedAt)) continue;
      if (previous !== undefined && successorsOf(key, keys).has(previous.kid)) continue;
      // Key ID for ECDSA notes (type 0x02, transparency-dev/witness): the first 4 bytes of SHA-256(SPKI DER) = kid.
      const keyId = Buffer.from(key.kid.slice(0, 8), 'hex');
      // Only the ecdsa-p256-sha256 suite exists so far; a key of any other suite does not parse here and is skipped.
      const publicKey = parseP256Spki(Buffer.from(key.publicKey, 'base64'));
      for (const sig of candidates) {
        if (
          publicKey !== undefined &&
          equalBytes(sig.keyId, keyId) &&
          verifyP256LowS(publicKey, message, sig.signature)
        )
          return key.kid;
      }
    }
  }
  return fail(
    'CHECKPOINT_BAD_SIGNATURE',
    `no signature on the checkpoint verifies with a log key of ${mspId} valid now, not revoked and not replaced by the key of the origin's last anchor`,
  );
}

/** The keys that replaced `key`, directly or through later rotations. */
function successorsOf(key: PublicKeyRecord, keys: readonly PublicKeyRecord[]): Set<string> {
  const found = new Set<string>();
  for (let kid = key.replacedBy; kid !== null && !found.has(kid);) {
    found.add(kid);
    kid = keys.find((k) => k.kid === kid)?.replacedBy ?? null;
  }
  return found;
}

function checkConsistency(previous: AnchoredCheckpoint, cp: Checkpoint, proof: Uint8Array[]): void {
  const previousSize = BigInt(previous.size);
  const previousRoot = Buffer.from(previous.rootHash, 'base64');
  if (cp.size < previousSize)
    fail('CHECKPOINT_SHRINK', `size ${cp.size} is below the anchored size ${previousSize} of ${cp.origin}`);
  if (cp.size === previousSize) {
    if (equalBytes(previousRoot, cp.rootHash))
      fail('CHECKPOINT_STALE', `checkpoint of size ${cp.size} is already anchored for ${cp.origin}`);
    fail('CHECKPOINT_FORK', `root differs from the anchored root at size ${cp.size} of ${cp.origin}`);
  }
  try {
    verifyConsistency(previousSize, cp.size, previousRoot, cp.rootHash, proof);
  } catch (err) {
    if (!(err instanceof MerkleProofError)) throw err;
    fail(
      'CHECKPOINT_FORK',
      `checkpoint is not consistent with the anchored size ${previousSize} of ${cp.origin}: ${err.message}`,
    );
  }
}

function parseProof(json: string): Uint8Array[] {
  const value = json === '' ? [] : requireJson('consistencyProof', json);
  if (!Array.isArray(value) || value.length > MAX_PROOF_HASHES)
    invalid('consistencyProof', `must be a JSON array of at most ${MAX_PROOF_HASHES} base64 hashes`);
  return value.map((item: unknown, i) => {
    const bytes = typeof item === 'string' ? decodeBase64Strict(item) : undefined;
    return bytes?.length === 32 ? bytes : invalid(`consistencyProof[${i}]`, 'must be the base64 of 32 bytes');
  });
}

export async function getCheckpoint(ctx: Context, origin: string): Promise<AnchoredCheckpoint> {
  requireOrigin('origin', origin);
  return (
    (await getJson<AnchoredCheckpoint>(ctx, NS.checkpoint, [origin])) ??
    fail('CHECKPOINT_NOT_FOUND', `no checkpoint is anchored for ${origin}`)
  );
}

export async function listCheckpoints(
  ctx: Context,
  origin: string,
  pageSize: string,
  bookmark: string,
): Promise<Page<AnchoredCheckpoint>> {
  requireOrigin('origin', origin);
  return listPage(ctx, NS.checkpointHistory, [origin], pageSize, bookmark);
}
