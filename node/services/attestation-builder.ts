/**
 * Builds the signed proof that a leaf is in this node's log (proofs.proto `Attestation`), for credit-record
 * attestations and notarization receipts alike. The anchor is a transaction anchoring a checkpoint that covers the
 * leaf, not necessarily the one that indexed it on chain (the index entry's transaction): mostly the first anchored
 * checkpoint covering the leaf, which is that one; else a later anchor, or the latest signed checkpoint while
 * anchoring is pending. A later one is used when the first anchor was signed by a log key since revoked (a verifier
 * refuses it: KEY_REVOKED) — the latest anchor proves the leaf instead (the chain checked every anchor consistent
 * with the one before), or, while that one is signed by a revoked key too, the latest signed checkpoint if a valid
 * key signed it — and when the first anchor's block lies below the gateway peer's ledger snapshot (anchorCovering).
 */
import { parseCheckpoint } from '../../chaincode/src/protocol.ts';
import type { AnchoredCheckpoint, CheckpointAnchorer } from '../anchor/index.ts';
import { NodeError } from '../api/errors.ts';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { SignedCheckpoint, TransparencyLog } from '../log/index.ts';
import type { AttestationBody, ReceiptKey } from '../receipts/index.ts';
import {
  AttestationBatcher,
  type AttestationBatcherInit,
  type BatchTicket,
  type ExpectOptions,
} from './attestation-batcher.ts';

export interface AttestationBuilderComponents {
  readonly log: Pick<TransparencyLog, 'leafWithInclusionProof' | 'latestCheckpoint'>;
  readonly anchorer: Pick<
    CheckpointAnchorer,
    'anchoredSize' | 'anchorCovering' | 'anchorBelow' | 'anchorsWithdrawn' | 'signedByRevokedKey'
  >;
  readonly receiptKey: ReceiptKey;
  /** The issuer: this node's MSP ID. */
  readonly mspId: string;
  readonly channel: string;
  readonly chaincode: string;
  /** The retry hint when no checkpoint covers the leaf yet: about one checkpoint interval. */
  readonly uncheckpointedRetryAfterMs: number;
  /**
   * Why no checkpoint this node signs now verifies, if so (its own log key is revoked, node/anchor RevokedSigning):
   * a leaf no valid checkpoint covers is then refused with that reason and no retry hint.
   */
  readonly logKeyRefusal?: () => string | undefined;
  /** How answers given at the same time share one signature (attestation-batcher.ts). */
  readonly batching?: AttestationBatcherInit;
}

export interface AttestationBuilder {
  /**
   * The attestation of leaf `leafIndex`, ANCHORED or CHECKPOINTED, signed in a batch with the attestations
   * being built at the same time (format v2).
   * @throws NodeError `FAILED_PRECONDITION` (with `retryAfterMs`) while no signed checkpoint covers the leaf.
   */
  attest(leafIndex: number): Promise<Attestation__Output>;
  /**
   * Announces an attestation the caller will ask for once its own lookups tell it which leaf (or withdraw, if
   * there is none): batches being gathered meanwhile wait for it, so concurrent answers share a signature.
   * A patient one may wait for a fuller batch (attestation-batcher.ts).
   */
  announce(options?: ExpectOptions): AnnouncedAttestation;
}

export interface AnnouncedAttestation {
  /** As `AttestationBuilder.attest`; once. */
  attest(leafIndex: number): Promise<Attestation__Output>;
  /** No attestation will be asked for after all; idempotent, and a no-op after `attest`. */
  withdraw(): void;
}

/** Anchored checkpoints remembered; beyond this the memory starts over (one entry per anchor, ~300 bytes). */
const MAX_REMEMBERED_ANCHORS = 4096;

interface CoveredRange {
  /** The lowest leaf index known to have the anchor of size `size` as its first anchored cover. */
  from: number;
  /** The size of the leaves' first anchored cover. */
  readonly size: number;
  /** What the leaves are proven against: their first cover, or the latest anchor if a revoked key signed that. */
  readonly anchored: AnchoredCheckpoint;
  readonly checkpoint: SignedCheckpoint;
  /** The attestation fields every answer against this anchor shares: built once, frozen. */
  readonly shared: SharedFields;
}

type SharedFields = Readonly<Pick<AttestationBody, 'checkpoint' | 'anchor' | 'state'>>;

export function createAttestationBuilder(c: Readonly<AttestationBuilderComponents>): AttestationBuilder {
  /**
   * Anchored checkpoints never change (but for the anchorer's rollback or a change of the revoked log keys, after
   * which these are forgotten), and when C is the first anchored cover of leaf i it is also that of every leaf from
   * i up to C's size; so each lookup in the anchor sublevel answers for a whole range, kept here by its first cover's
   * size.
   */
  let covered: CoveredRange[] = [];
  /**
   * `anchorsWithdrawn` when `covered` was last emptied: a rollback (a ledger restore) unanchors some, a revoked log
   * key makes the anchors it signed vouch for nothing.
   */
  let coveredSince = c.anchorer.anchorsWithdrawn;

  const anchorOf = (anchored: AnchoredCheckpoint): NonNullable<AttestationBody['anchor']> => ({
    channel: c.channel,
    chaincode: c.chaincode,
    transactionId: anchored.transactionId,
    blockNumber: anchored.blockNumber,
  });

  const remembered = (leafIndex: number): CoveredRange | undefined => {
    let low = 0;
    let high = covered.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((covered[middle]?.size ?? 0) <= leafIndex) low = middle + 1;
      else high = middle;
    }
    const range = covered[low];
    return range && range.from <= leafIndex ? range : undefined;
  };

  const remember = (leafIndex: number, first: AnchoredCheckpoint, anchored: AnchoredCheckpoint): CoveredRange => {
    const known = covered.find((range) => range.size === first.size);
    if (known) {
      known.from = Math.min(known.from, leafIndex);
      return known;
    }
    if (covered.length >= MAX_REMEMBERED_ANCHORS) covered = [];
    const checkpoint = checkpointOf(anchored);
    const shared = sharedFields(checkpoint, anchorOf(anchored));
    const range = { from: leafIndex, size: first.size, anchored, checkpoint, shared };
    covered = [...covered, range].sort((a, b) => a.size - b.size);
    return range;
  };

  /**
   * The anchor to prove a leaf first covered by `first` against: `first`, else the newest one a valid key signed
   * (walking down from the latest: K1 revoked, anchors by K2, the current K3 revoked too, a K2 anchor proves it);
   * none while every one is by a revoked key.
   */
  const provingAnchor = async (first: AnchoredCheckpoint): Promise<AnchoredCheckpoint | undefined> => {
    if (!c.anchorer.signedByRevokedKey(first.note)) return first;
    for (let below = c.anchorer.anchoredSize + 1; ;) {
      const anchored = await c.anchorer.anchorBelow(below);
      if (anchored === undefined || anchored.size <= first.size) return undefined;
      if (!c.anchorer.signedByRevokedKey(anchored.note)) return anchored;
      below = anchored.size;
    }
  };

  /**
   * Looked up in the anchor sublevel: what `remembered` does not know yet. Read again when anchors were withdrawn
   * meanwhile (a rollback, a revoked key): what was read may name a transaction the chain lost or a checkpoint a
   * revoked key signed, and another call may already have emptied `covered` for it, which would then keep it.
   */
  const lookUpAnchor = async (leafIndex: number): Promise<CoveredRange | undefined> => {
    for (;;) {
      const withdrawn = c.anchorer.anchorsWithdrawn;
      const first = await c.anchorer.anchorCovering(leafIndex);
      const anchored = first && (await provingAnchor(first));
      if (c.anchorer.anchorsWithdrawn === withdrawn) return first && anchored && remember(leafIndex, first, anchored);
    }
  };

  /** The latest signed checkpoint, unless a revoked key signed it (`lastChecked` spares a parse per call). */
  let lastChecked: { note: string; withdrawn: number; revoked: boolean } | undefined;
  const latestValidCheckpoint = (): SignedCheckpoint | undefined => {
    const latest = c.log.latestCheckpoint();
    if (latest === undefined) return undefined;
    const withdrawn = c.anchorer.anchorsWithdrawn;
    if (lastChecked?.note !== latest.note || lastChecked.withdrawn !== withdrawn) {
      lastChecked = { note: latest.note, withdrawn, revoked: c.anchorer.signedByRevokedKey(latest.note) };
    }
    return lastChecked.revoked ? undefined : latest;
  };

  /**
   * No valid checkpoint covers the leaf: not signed yet, or signed by a revoked key and not yet signed again by the
   * current one (RevokedSigning does so when the revoked set changes or keys reload); or the node's key is revoked.
   */
  const unattestable = (leafIndex: number): NodeError => {
    const signing = c.logKeyRefusal?.();
    if (signing !== undefined) {
      return new NodeError('FAILED_PRECONDITION', `leaf ${leafIndex} cannot be attested: ${signing}`);
    }
    const revoked = (c.log.latestCheckpoint()?.size ?? 0) > leafIndex;
    const why = revoked
      ? 'checkpointed only by a revoked log key, until the node signs its checkpoint again with its current key'
      : 'not yet checkpointed';
    return new NodeError('FAILED_PRECONDITION', `leaf ${leafIndex} is ${why}: retry shortly`, {
      retryAfterMs: c.uncheckpointedRetryAfterMs,
    });
  };

  const batcher = new AttestationBatcher(c.receiptKey, c.batching);

  const attest = async (leafIndex: number, ticket: BatchTicket): Promise<Attestation__Output> => {
    try {
      if (c.anchorer.anchorsWithdrawn !== coveredSince) {
        covered = [];
        coveredSince = c.anchorer.anchorsWithdrawn;
      }
      // Remembered ranges answer almost every call: no promise for them.
      const anchoredRange =
        leafIndex < c.anchorer.anchoredSize ? (remembered(leafIndex) ?? (await lookUpAnchor(leafIndex))) : undefined;
      const checkpoint = anchoredRange?.checkpoint ?? latestValidCheckpoint();
      if (checkpoint === undefined || checkpoint.size <= leafIndex) throw unattestable(leafIndex);
      // The leaf and its proof in one call: the proof's sibling leaf hash comes from the leaf's own entry bundle.
      const { leaf, hashes } = await c.log.leafWithInclusionProof(leafIndex, checkpoint.size);
      // Every field present (AttestationBody): the signer encodes it once, as is.
      const shared = anchoredRange?.shared ?? sharedFields(checkpoint, null);
      return await ticket.sign({
        leaf,
        inclusion: { leafIndex, treeSize: checkpoint.size, hashes },
        checkpoint: shared.checkpoint,
        anchor: shared.anchor,
        state: shared.state,
        issuedAtMs: Date.now(),
        issuer: c.mspId,
      });
    } finally {
      ticket.withdraw();
    }
  };

  return {
    // Announced before the lookups, so that answers being looked up meanwhile join this one's batch.
    attest: (leafIndex) => attest(leafIndex, batcher.expect()),
    announce: (options) => new Announced(attest, batcher.expect(options)),
  };
}

/** An announced attestation: an object per answer, not closures (tsx names each closure it makes, per call). */
class Announced implements AnnouncedAttestation {
  readonly #build: (leafIndex: number, ticket: BatchTicket) => Promise<Attestation__Output>;
  readonly #ticket: BatchTicket;

  constructor(build: (leafIndex: number, ticket: BatchTicket) => Promise<Attestation__Output>, ticket: BatchTicket) {
    this.#build = build;
    this.#ticket = ticket;
  }

  attest(leafIndex: number): Promise<Attestation__Output> {
    return this.#build(leafIndex, this.#ticket);
  }

  withdraw(): void {
    this.#ticket.withdraw();
  }
}

/** The checkpoint, anchor and state of answers against `checkpoint`, ANCHORED by `anchor` or CHECKPOINTED. */
function sharedFields(checkpoint: SignedCheckpoint, anchor: AttestationBody['anchor']): SharedFields {
  return Object.freeze({
    checkpoint: Object.freeze({
      note: checkpoint.note,
      origin: checkpoint.origin,
      size: checkpoint.size,
      rootHash: asBuffer(checkpoint.rootHash),
    }),
    anchor: anchor && Object.freeze(anchor),
    state: anchor ? 'EVIDENCE_STATE_ANCHORED' : 'EVIDENCE_STATE_CHECKPOINTED',
  });
}

/** An anchored note, parsed: the anchorer wrote it, so a note that does not parse is corruption. */
function checkpointOf(anchored: AnchoredCheckpoint): SignedCheckpoint {
  const result = parseCheckpoint(anchored.note);
  if (!result.ok) {
    throw new NodeError('INTERNAL', `anchored checkpoint ${anchored.size} does not parse: ${result.reason}`);
  }
  const { origin, size, rootHash } = result.checkpoint;
  return { origin, size: Number(size), rootHash: Buffer.from(rootHash), note: anchored.note };
}

/** The bytes as a Buffer without copying (the generated `__Output` types say Buffer). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
