/**
 * An anchor's index entries, in the chain's binary encoding (chaincode/src/index-entry-codec.ts), written straight
 * from the bytes the log holds, walked in place (no Buffer per leaf or hash): each credit-record leaf's subject, kind
 * and record digest copied from the leaf, its RFC 9162 leaf hash from the tree's level-0 tiles (hashing every leaf
 * again cost ≈1 µs a record). No IndexEntry object or hex string is built per leaf: those cost the ingesting node
 * ≈8 % of its main thread, only for the encoder to turn the hex back into the bytes it started from
 * (bench/RESULTS.md, "issue 13: origin3").
 * The bytes are checked by the codec's one validator before they leave (`IndexEntriesWriter.finish`).
 */
import { IndexEntriesWriter, MAX_INDEX_ENTRIES, type IndexEntriesView } from '../../chaincode/src/protocol.ts';
import type { TransparencyLog } from '../log/index.ts';
import { decodeLogLeaf } from '../receipts/index.ts';
import { locateCreditLeafIndexFields } from '../records/index.ts';

/**
 * The index entries of the credit-record leaves in [from, to), read back from the log exactly as stored; other
 * leaves have none. INVALID_ARGUMENT if they are more than MAX_INDEX_ENTRIES, as the chaincode would refuse them.
 * `writer` is restarted and written into (an anchorer passes the same one for every anchor, so that its bytes are
 * not allocated again each time); what is returned does not share them.
 */
export async function anchorIndexEntries(
  log: Pick<TransparencyLog, 'storedLeaves'>,
  from: number,
  to: number,
  writer = new IndexEntriesWriter(0),
): Promise<IndexEntriesView> {
  const stored = await log.storedLeaves(from, to);
  // The chaincode's limit is on entries, not leaves: leaves of other kinds (contracts, exchanges) have none.
  writer.restart(Math.min(to - from, MAX_INDEX_ENTRIES));
  stored.forEach((index, leaf, hashes, hashAt) => {
    // The ingest's own layout read in place (≈3 µs a leaf less than protobufjs); anything else decoded in full.
    const at = locateCreditLeafIndexFields(leaf);
    if (at !== undefined) {
      writer.add(index, hashes, hashAt, leaf, at);
      return;
    }
    const record = decodeLogLeaf(leaf).creditRecord;
    if (record) writer.addDecoded(index, hashes, hashAt, record.subject, record.kind, record.recordDigest);
  });
  // Lenient: the record was checked in the node's USCC mode (the registry's, checked at start) when ingested; the
  // chaincode checks an index entry's subject by shape only — a leaf the log holds cannot be taken back.
  return writer.finish('lenient');
}
