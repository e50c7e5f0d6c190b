/** RecordService: agencies load their own credit records; each acknowledgement means durable and logged. */
import type { RecordServiceImpl } from '../api/handlers.ts';
import { NodeError } from '../api/errors.ts';
import type { IngestAck } from '../api/generated/lianxin/v1/IngestAck.ts';
import type { RecordBatch__Output } from '../api/generated/lianxin/v1/RecordBatch.ts';
import { ACCEPTED_OUTCOME_NUMBER, resultColumnsOf } from '../api/ingest-ack-wire.ts';
import type { CheckpointAnchorer } from '../anchor/index.ts';
import type { TransparencyLog } from '../log/index.ts';
import type { NodeMetrics } from '../metrics/index.ts';
import type { RecordStore } from '../records/index.ts';
import { inOrder } from './in-order.ts';

export interface RecordServiceComponents {
  readonly records: Pick<RecordStore, 'ingest' | 'get'>;
  readonly log: Pick<TransparencyLog, 'latestCheckpoint'>;
  readonly anchorer: Pick<CheckpointAnchorer, 'anchoredSize' | 'anchorCovering'>;
  readonly metrics: Pick<NodeMetrics, 'ingestedRecords'>;
  readonly channel: string;
  readonly chaincode: string;
}

/**
 * Batches of one stream read ahead of their acknowledgements: the record store commits the batches waiting
 * while a write is in flight together, so a stream that waited for each ack before reading the next batch would
 * pay one synced write per batch and leave the thread idle during it. At the first refusal the stream ends with
 * it; batches read after the refused one may have been stored, and a client resending them gets their first
 * acknowledgements (idempotent by request ID).
 */
const READ_AHEAD_BATCHES = 8;

export function createRecordService(c: Readonly<RecordServiceComponents>): RecordServiceImpl {
  const counted = (ack: IngestAck): IngestAck => {
    // A replayed acknowledgement ingested nothing this time: its records were counted when first acknowledged.
    if (ack.replayed === true) return ack;
    // From the columns when the ack has them: its result objects are not built for this.
    const outcomes = resultColumnsOf(ack)?.outcomes;
    const count = outcomes?.length ?? ack.results?.length ?? 0;
    let accepted = 0;
    if (outcomes) for (const outcome of outcomes) accepted += outcome === ACCEPTED_OUTCOME_NUMBER ? 1 : 0;
    else accepted = (ack.results ?? []).filter((r) => r.outcome === 'OUTCOME_ACCEPTED').length;
    c.metrics.ingestedRecords.inc({ outcome: 'accepted' }, accepted);
    c.metrics.ingestedRecords.inc({ outcome: 'duplicate' }, count - accepted);
    return ack;
  };
  // Not an async function: a suspended one keeps its arguments, and the decoded batch (an object, three strings and
  // a view per record) would then live until its acknowledgement, across the commit's fsync, and be copied by every
  // young-generation collection meanwhile. The record store keeps only what it prepared from it.
  const ingest = (batch: RecordBatch__Output): Promise<IngestAck> => c.records.ingest(batch).then(counted);
  return {
    IngestBatch: (batch) => ingest(batch),

    // Batches are acknowledged in the order they arrive, each once durable.
    IngestRecords: (batches) => inOrder(batches, READ_AHEAD_BATCHES, ingest),

    async GetRecordStatus(ref) {
      const meta = await c.records.get(ref.subject, ref.kind, ref.version);
      if (!meta) throw new NodeError('NOT_FOUND', `no ${ref.kind} record of ${ref.subject} is held by this node`);
      const record = { subject: meta.subject, kind: meta.kind, version: meta.version };
      const base = { record, leafIndex: meta.leafIndex, recordDigest: Buffer.from(meta.digest, 'hex') };
      if (meta.leafIndex < c.anchorer.anchoredSize) {
        const anchored = await c.anchorer.anchorCovering(meta.leafIndex);
        return {
          ...base,
          state: 'EVIDENCE_STATE_ANCHORED',
          ...(anchored && {
            anchor: {
              channel: c.channel,
              chaincode: c.chaincode,
              transactionId: anchored.transactionId,
              blockNumber: anchored.blockNumber,
            },
          }),
        };
      }
      const checkpointed = meta.leafIndex < (c.log.latestCheckpoint()?.size ?? 0);
      return { ...base, state: checkpointed ? 'EVIDENCE_STATE_CHECKPOINTED' : 'EVIDENCE_STATE_PENDING' };
    },
  };
}
