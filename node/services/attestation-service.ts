/**
 * AttestationService: banks (and the regulator) ask whether a credit record is genuine and current. A record this
 * node holds is answered with the full signed proof; a record of another institution with the chain's index
 * entry, which names the owner's log so the bank can ask the owner for the proof.
 */
import { byRecordRule, invalidArgument, NodeError, toRequestError } from '../api/errors.ts';
import type { AttestRequest__Output } from '../api/generated/lianxin/v1/AttestRequest.ts';
import type { AttestResponse } from '../api/generated/lianxin/v1/AttestResponse.ts';
import type { ChainIndexEntry } from '../api/generated/lianxin/v1/ChainIndexEntry.ts';
import type { AttestationServiceImpl } from '../api/handlers.ts';
import type { ChainIndex, ChainIndexRecord } from '../chain-index/index.ts';
import type { NodeMetrics } from '../metrics/index.ts';
import { validateEchoedRequestId, validateRecordRef } from '../records/index.ts';
import { ATTESTATION_PATIENT_BATCH } from './attestation-batcher.ts';
import type { AttestationBuilder } from './attestation-builder.ts';
import { inOrder } from './in-order.ts';

export interface AttestationServiceComponents {
  /** The record store's lookup for attestations; a store may answer asynchronously (the node's does not). */
  readonly records: {
    leafIndexOf(code: string, kind: string, version?: number): number | undefined | Promise<number | undefined>;
  };
  readonly builder: Pick<AttestationBuilder, 'announce'>;
  readonly chain: Pick<ChainIndex, 'getIndexRecord'>;
  readonly metrics: Pick<NodeMetrics, 'attestRequestErrors'>;
  /** Lookups of one AttestStream worked on at once (default `ATTEST_STREAM_CONCURRENCY`). */
  readonly streamConcurrency?: number;
}

/** Enough to keep LevelDB and the signer busy while bounding the memory one stream can hold. */
export const ATTEST_STREAM_CONCURRENCY = 64;
/**
 * How full a batch a stream's answers wait for (attestation-batcher.ts): as many as the stream has had
 * unanswered at once, up to ATTESTATION_PATIENT_BATCH. A client that waits for each answer has had one, and is
 * answered as a unary call is; a client with a deep window sends it at once when it starts, and its answers then
 * wait for one another however the window trickles in later. The wait is bounded by the batcher's `maxWaitMs`
 * (a client that narrows its window after that pays at most that).
 */
const patienceOf = (deepest: number): number => Math.min(deepest, ATTESTATION_PATIENT_BATCH);

export function createAttestationService(c: Readonly<AttestationServiceComponents>): AttestationServiceImpl {
  const attest = async ({ requestId, record }: AttestRequest__Output, waitFor = 1): Promise<AttestResponse> => {
    // Only echoed in the answer: bounded, any text without control characters (not ingest's key rule).
    byRecordRule(() => validateEchoedRequestId(requestId));
    if (record === null) throw invalidArgument('record', 'is required');
    const subject = byRecordRule(() => validateRecordRef(record.subject, record.kind, 'record'));

    // Announced before the record lookup: answers looked up at the same time then share one batch signature.
    const attestation = c.builder.announce({ waitFor });
    try {
      const found = c.records.leafIndexOf(subject, record.kind, record.version);
      // The node's store answers synchronously: awaiting its number would cost a microtask turn for nothing.
      const leafIndex = typeof found === 'number' || found === undefined ? found : await found;
      if (leafIndex !== undefined) return { requestId, attestation: await attestation.attest(leafIndex) };
    } finally {
      attestation.withdraw();
    }
    // The chain indexes the latest anchored leaf of (subject, kind): its record_version says which one it is.
    const indexed = await c.chain.getIndexRecord(subject, record.kind);
    if (indexed) return { requestId, indexEntry: toChainIndexEntry(indexed) };
    const version = record.version === 0 ? 'any version' : `version ${record.version}`;
    throw new NodeError(
      'NOT_FOUND',
      `no ${record.kind} record of ${subject} (${version}) is held by this node or indexed on chain`,
    );
  };

  return {
    Attest: (request) => attest(request),

    /**
     * Answers in request order, up to `streamConcurrency` lookups in flight. A lookup that fails on its own ends
     * the stream with its status, the answers before it sent (as released), unless its request asked for
     * `perRequestErrors`: then it is answered with its error (toRequestError) and the stream goes on. One that
     * concerns the whole call ends the stream whatever the request asked.
     */
    AttestStream: (requests, ctx) => {
      /** This stream's requests being worked on, and the most it has had at once. */
      let working = 0;
      let deepest = 0;
      /** Requests answered with their own error, by code. */
      const errors = new Map<string, number>();
      return inOrder(
        requests,
        c.streamConcurrency ?? ATTEST_STREAM_CONCURRENCY,
        (request) => {
          working++;
          deepest = Math.max(deepest, working);
          return attest(request, patienceOf(deepest)).then(
            (answer) => {
              working--;
              return answer;
            },
            (err: unknown) => {
              working--;
              // Asked for per request: a client built from the released node.proto knows no error answer (one
              // would read as an answer carrying neither attestation nor index entry) and waits for the status.
              const error = request.perRequestErrors ? toRequestError(err) : undefined;
              if (error === undefined) throw err;
              // Counted and logged: the call itself ends OK.
              const code = error.errorCode;
              c.metrics.attestRequestErrors.inc({ code });
              errors.set(code, (errors.get(code) ?? 0) + 1);
              // A refused ID is not echoed back whole: the answer's place in the stream matches it.
              return { requestId: error.field === 'request_id' ? '' : request.requestId, error };
            },
          );
        },
        {
          signal: ctx.signal,
          // One line per stream, not per request: a bank's stream of unknown records would otherwise log each.
          onEnd: () => {
            if (errors.size > 0)
              ctx.logger.warn({ requestErrors: Object.fromEntries(errors) }, 'stream requests failed');
          },
        },
      );
    },
  };
}

function toChainIndexEntry(row: ChainIndexRecord): ChainIndexEntry {
  return {
    subject: row.subject,
    kind: row.kind,
    origin: row.origin,
    leafIndex: row.leafIndex,
    leafHash: Buffer.from(row.leafHash, 'hex'),
    recordDigest: Buffer.from(row.recordDigest, 'hex'),
    recordVersion: row.version,
    transactionId: row.txId,
  };
}
