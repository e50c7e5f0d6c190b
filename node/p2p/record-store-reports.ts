/**
 * The provider's ReportSource over the node's own parts: the latest version of each kind from the RecordStore,
 * its content, and an attestation from the AttestationBuilder (leaf, inclusion proof, checkpoint — anchored when
 * it is), serialized as the API sends it.
 */
import { hashLeaf } from '../../chaincode/src/protocol.ts';
import { attestationBytes } from '../receipts/index.ts';
import type { RecordStore } from '../records/index.ts';
import type { Attestation__Output } from '../api/generated/lianxin/v1/Attestation.ts';
import type { ProvidedRecord, ReportSource } from './exchange-ports.ts';

export interface RecordStoreReportsComponents {
  readonly records: Pick<RecordStore, 'get' | 'content'>;
  /** The node's attestation builder (node/services `createAttestationBuilder`). */
  readonly attestations: { attest(leafIndex: number): Promise<Attestation__Output> };
}

export function recordStoreReports(c: Readonly<RecordStoreReportsComponents>): ReportSource {
  return {
    async latestRecords(subject, kinds, options = {}) {
      const provided: ProvidedRecord[] = [];
      for (const kind of kinds) {
        // An exchange that ran out of time reads no further kinds.
        options.signal?.throwIfAborted();
        const meta = await c.records.get(subject, kind);
        if (meta === undefined) continue;
        const [content, attestation] = await Promise.all([
          c.records.content(meta),
          c.attestations.attest(meta.leafIndex),
        ]);
        // Metadata without content would be a damaged store: leave the kind out rather than send a record that
        // cannot match its digest.
        if (content === undefined) continue;
        provided.push({
          record: {
            kind,
            version: meta.version,
            contentType: meta.contentType,
            content,
            attestation: attestationBytes(attestation),
          },
          leafHash: hashLeaf(attestation.leaf),
        });
      }
      return provided;
    },
  };
}
