/**
 * Builds the signed proof that a leaf is in this node's log (proofs.proto `Attestation`), for credit-record
 * attestations and notarization receipts alike. The checkpoint is the first anchored one covering the leaf —
 * the one whose AnchorCheckpoint transaction indexed it on chain, so the attestation's anchor names the same
 * transaction as the chain's index entry — or else the latest signed checkpoint, while anchoring is pending.
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
  readonly anchorer: Pick<CheckpointAnchorer, 'anchoredSize' | 'anchorCovering' | 'rollbacks'>;
  readonly receiptKey: ReceiptKey;
  /** The issuer: this node's MSP ID. */
  readonly mspId: string;
  readonly channel: string;
  readonly chaincode: string;
  /** The retry hint when no checkpoint covers the leaf yet: about one checkpoint interval. */
  readonly uncheckpointedRetryAfterMs: number;
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
  /** The lowest leaf index known to have `checkpoint` as its first anchored cover. */
  from: number;
  readonly anchored: AnchoredCheckpoint;
  readonly checkpoint: SignedCheckpoint;
  /** The attestation fields every answer against this anchor shares: built once, frozen. */
  readonly shared: SharedFields;
}

type SharedFields = Readonly<Pick<AttestationBody, 'checkpoint' | 'anchor' | 'state'>>;

export function createAttestationBuilder(c: Readonly<AttestationBuilderComponents>): AttestationBuilder {
  /**
   * Anchored checkpoints never change (but for the anchorer's rollback, after which these are forgotten), and when C
   * is the first anchored cover of leaf i it is also that of every leaf from i up to C's size; so each lookup in the
   * anchor sublevel answers for a whole range, kept here by checkpoint size.
   */
  let covered: CoveredRange[] = [];
  /** The anchorer's rollbacks when `covered` was last emptied: a rollback (a ledger restore) unanchors some. */
  let coveredSince = c.anchorer.rollbacks;

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
      if ((covered[middle]?.checkpoint.size ?? 0) <= leafIndex) low = middle + 1;
      else high = middle;
    }
    const range = covered[low];
    return range && range.from <= leafIndex ? range : undefined;
  };

  const remember = (leafIndex: number, anchored: AnchoredCheckpoint): CoveredRange => {
    const known = covered.find((range) => range.anchored.size === anchored.size);
    if (known) {
      known.from = Math.min(known.from, leafIndex);
      return known;
    }
    if (covered.length >= MAX_REMEMBERED_ANCHORS) covered = [];
    const checkpoint = checkpointOf(anchored);
    const range = { from: leafIndex, anchored, checkpoint, shared: sharedFields(checkpoint, anchorOf(anchored)) };
    covered = [...covered, range].sort((a, b) => a.checkpoint.size - b.checkpoint.size);
    return range;
  };

  /**
   * Looked up in the anchor sublevel: what `remembered` does not know yet. Read again when the anchorer rolled back
   * meanwhile: what was read may name a transaction the chain lost, and another call may already have emptied
   * `covered` for that rollback, which would then keep it until the next.
   */
  const lookUpFirstAnchor = async (leafIndex: number): Promise<CoveredRange | undefined> => {
    for (;;) {
      const rollbacks = c.anchorer.rollbacks;
      const anchored = await c.anchorer.anchorCovering(leafIndex);
      if (c.anchorer.rollbacks === rollbacks) return anchored && remember(leafIndex, anchored);
    }
  };

  const batcher = new AttestationBatcher(c.receiptKey, c.batching);

  const attest = async (leafIndex: number, ticket: BatchTicket): Promise<Attestation__Output> => {
    try {
      if (c.anchorer.rollbacks !== coveredSince) {
        covered = [];
        coveredSince = c.anchorer.rollbacks;
      }
      // Remembered ranges answer almost every call: no promise for them.
      const anchoredRange =
        leafIndex < c.anchorer.anchoredSize
          ? (remembered(leafIndex) ?? (await lookUpFirstAnchor(leafIndex)))
          : undefined;
      const checkpoint = anchoredRange?.checkpoint ?? c.log.latestCheckpoint();
      if (checkpoint === undefined || checkpoint.size <= leafIndex) {
        throw new NodeError('FAILED_PRECONDITION', `leaf ${leafIndex} is not yet checkpointed: retry shortly`, {
          retryAfterMs: c.uncheckpointedRetryAfterMs,
        });
      }
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
