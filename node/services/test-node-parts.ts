/**
 * Test support for the services: the node's real parts on a LevelDB in a temporary directory (log signed with a
 * real P-256 key, record store, anchoring pipeline), the organisation's keys registered in a trust bundle for
 * verifying what the services sign, and typed fakes of the narrow chain interfaces.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeIndexEntries,
  type IndexEntriesView,
  type OrgRole,
  usccCheckCharacter,
  verifyConsistency,
} from '../../chaincode/src/protocol.ts';
import { Metadata } from '@grpc/grpc-js';
import { CheckpointAnchorer } from '../anchor/index.ts';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { CallContext } from '../api/handlers.ts';
import type { ChainIndex, ChainIndexRecord } from '../chain-index/index.ts';
import {
  ChainError,
  type AnchoredCheckpoint,
  type Committed,
  type IndexEntry,
  type LianxinChain,
} from '../ledger/index.ts';
import { openTransparencyLog, p256LogSigner, type SignedCheckpoint, type TransparencyLog } from '../log/index.ts';
import { createLogger } from '../logging/index.ts';
import { parseTrustBundle, type TrustBundle } from '../receipts/index.ts';
import { bundleOf, CHANNEL, createTestOrg, type TestOrg } from '../receipts/test-fixtures.ts';
import { RecordStore } from '../records/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { createAttestationBuilder, type AttestationBuilder } from './attestation-builder.ts';

export { CHANNEL };
export const CHAINCODE = 'lianxin';
export const UNCHECKPOINTED_RETRY_AFTER_MS = 1_000;

/** What the server hands a handler for a call by `mspId` with `role`. */
export function callContext(mspId: string, role: OrgRole): CallContext {
  return {
    caller: { mspId, role, commonName: `client.${mspId.toLowerCase()}`, fingerprint: 'AA:BB' },
    signal: new AbortController().signal,
    metadata: new Metadata(),
    logger: createLogger({ level: 'silent' }),
  };
}

/** A valid USCC (check character included) for each `n`. */
export function testUscc(n: number): string {
  const first17 = `91330100MA${String(n).padStart(7, '0')}`;
  return first17 + usccCheckCharacter(first17);
}

/**
 * The chain as the anchorer sees it: every AnchorCheckpoint whose consistency proof from the latest anchor holds and
 * whose entries are of the leaves it adds commits, in blocks 1, 2, …
 */
export class FakeAnchorChain implements Pick<LianxinChain, 'anchorCheckpoint' | 'getCheckpoint' | 'blockNumberOf'> {
  readonly anchored: { note: string; entries: readonly IndexEntry[]; transactionId: string }[] = [];
  readonly #origin: string;

  constructor(origin: string) {
    this.#origin = origin;
  }

  readonly #latest: AnchoredCheckpoint[] = [];

  anchorCheckpoint(
    note: string,
    proof: readonly Uint8Array[],
    encoded: IndexEntriesView,
    options: { readonly onEndorsed?: (transactionId: string, result: AnchoredCheckpoint) => void } = {},
  ): Promise<Committed<AnchoredCheckpoint>> {
    const transactionId = randomBytes(32).toString('hex');
    // As the chaincode reads them: validated again and decoded (tests compare the entries themselves).
    const entries = decodeIndexEntries(encoded.bytes, 'lenient');
    const [, size = '0', rootHash = ''] = note.split('\n');
    const refusal = this.#refusal(Number(size), rootHash, proof, entries);
    if (refusal) return Promise.reject(refusal);
    this.anchored.push({ note, entries, transactionId });
    const result: AnchoredCheckpoint = {
      origin: this.#origin,
      mspId: this.#origin.split('/')[1] ?? '',
      size,
      rootHash,
      checkpoint: note,
      kid: '',
      previousSize: null,
      indexCount: entries.length,
      txId: transactionId,
      anchoredAt: new Date().toISOString(),
    };
    this.#latest.push(result);
    // As the gateway does: endorsed, then committed.
    options.onEndorsed?.(transactionId, result);
    return Promise.resolve({ transactionId, blockNumber: BigInt(this.anchored.length), result });
  }

  /** The chaincode's checks of an anchor against the one before it (chaincode/src/checkpoints.ts), in short. */
  #refusal(
    size: number,
    rootHash: string,
    proof: readonly Uint8Array[],
    entries: readonly IndexEntry[],
  ): ChainError | undefined {
    const previous = this.#latest.at(-1);
    const from = previous === undefined ? 0 : Number(previous.size);
    try {
      if (previous !== undefined) {
        const root = (b64: string) => Buffer.from(b64, 'base64');
        verifyConsistency(BigInt(from), BigInt(size), root(previous.rootHash), root(rootHash), proof);
      } else if (proof.length > 0) throw new Error('a first anchor has no consistency proof');
    } catch (cause) {
      return new ChainError('REJECTED', `checkpoint ${size} is not consistent with ${from}`, {
        cause,
        chaincodeCode: 'CHECKPOINT_FORK',
      });
    }
    if (entries.some(({ leafIndex }) => leafIndex < from || leafIndex >= size)) {
      return new ChainError('REJECTED', `an index entry is outside [${from}, ${size})`, {
        chaincodeCode: 'INDEX_LEAF_OUT_OF_RANGE',
      });
    }
    return undefined;
  }

  /** The block of an anchor's transaction, as qscc GetBlockByTxID answers: one block per anchor, from 1. */
  blockNumberOf(transactionId: string): Promise<bigint> {
    const at = this.anchored.findIndex((a) => a.transactionId === transactionId);
    return at < 0
      ? Promise.reject(new ChainError('REJECTED', `no such transaction ID [${transactionId}] in index`))
      : Promise.resolve(BigInt(at + 1));
  }

  /** The origin's latest anchor, as the chaincode's GetCheckpoint answers (the anchorer asks once on start). */
  getCheckpoint(): Promise<AnchoredCheckpoint | undefined> {
    return Promise.resolve(this.#latest.at(-1));
  }
}

/** The chain's record index, holding what the test puts in. */
export class FakeIndexChain implements Pick<ChainIndex, 'getIndexRecord'> {
  readonly rows = new Map<string, ChainIndexRecord>();
  lookups = 0;

  put(row: ChainIndexRecord): void {
    this.rows.set(`${row.subject}\u0000${row.kind}`, row);
  }

  getIndexRecord(subject: string, kind: string): Promise<ChainIndexRecord | undefined> {
    this.lookups++;
    return Promise.resolve(this.rows.get(`${subject}\u0000${kind}`));
  }
}

export interface TestNodeParts extends AsyncDisposable {
  readonly org: TestOrg;
  /** The consortium's trust bundle with this organisation's receipt and log keys. */
  readonly bundle: TrustBundle;
  readonly db: NodeDatabase;
  readonly log: TransparencyLog;
  readonly records: RecordStore;
  readonly anchorer: CheckpointAnchorer;
  readonly anchorChain: FakeAnchorChain;
  readonly builder: AttestationBuilder;
  /** Ingests one record per subject number, kind `loan`, the given version. */
  ingest(subjects: readonly number[], version?: number): Promise<IngestAck>;
  /** Signs a checkpoint of the whole log and waits until it is anchored. */
  anchorAll(): Promise<void>;
}

export async function openTestNodeParts(mspId: string, role: OrgRole): Promise<TestNodeParts> {
  const org = await createTestOrg(mspId, role);
  const dir = await mkdtemp(join(tmpdir(), 'lianxin-services-'));
  const db = await openNodeDatabase(dir);
  /** Checkpoints signed since the last anchorAll, oldest first. */
  const signed: SignedCheckpoint[] = [];
  // Checkpoints are taken explicitly by the tests (or by the service under test), never by the timer; the log
  // signs one every 10,000 leaves (its default, an anchor's most), so that a log of any size can be anchored.
  const log = await openTransparencyLog({
    db: db.log,
    origin: org.origin,
    signer: p256LogSigner(org.logKey.privateKey),
    checkpointIntervalMs: 3_600_000,
    onCheckpoint: (checkpoint) => signed.push(checkpoint),
  });
  const anchorChain = new FakeAnchorChain(org.origin);
  const anchorer = await CheckpointAnchorer.open({
    db: db.anchor,
    write: db.write,
    log,
    chain: anchorChain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 10,
    retryMaxMs: 100,
  });
  anchorer.start();
  const records = new RecordStore({
    db: db.records,
    write: db.write,
    log,
    mspId,
    maxBatchRecords: 10_000,
    maxRecordBytes: 4096,
    usccMode: 'strict',
    backlog: () => ({ pending: 0, limit: Number.MAX_SAFE_INTEGER, retryAfterMs: 1_000 }),
  });
  const builder = createAttestationBuilder({
    log,
    anchorer,
    receiptKey: org.receiptKey,
    mspId,
    channel: CHANNEL,
    chaincode: CHAINCODE,
    uncheckpointedRetryAfterMs: UNCHECKPOINTED_RETRY_AFTER_MS,
  });
  let batches = 0;
  const close = async () => {
    await anchorer.stop();
    await log.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  };
  return {
    org,
    bundle: parseTrustBundle(JSON.stringify(bundleOf([org]))),
    db,
    log,
    records,
    anchorer,
    anchorChain,
    builder,
    ingest: (subjects, version = 1) =>
      records.ingest({
        requestId: `batch-${++batches}`,
        records: subjects.map((n) => ({
          subject: testUscc(n),
          kind: 'loan',
          version,
          content: Buffer.from(JSON.stringify({ subject: n, version, balance: n * 1000 })),
          contentType: 'application/json',
        })),
      }),
    async anchorAll() {
      const checkpoint = await log.checkpoint();
      if (checkpoint === undefined) throw new Error('the log is empty: nothing to anchor');
      // Every checkpoint signed since, queued as the node queues them: an anchor adds at most 10,000 leaves (the
      // chaincode's limit), and the anchorer steps through the queue taking the newest within that many each time.
      for (const step of signed.splice(0)) await anchorer.enqueue(step);
      await anchorer.whenAnchored(checkpoint.size);
    },
    [Symbol.asyncDispose]: close,
  };
}
