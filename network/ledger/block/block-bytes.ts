/**
 * A block's bytes as google-protobuf's `common.Block.serializeBinary` writes them, written straight into one buffer:
 * the store keeps every block as bytes, and google-protobuf's writer plus the copy out of it cost ≈ 6 ms per
 * 2.2 MB block of a 10,000-entry anchor (bench/RESULTS.md, issue 13 ledger-anchor). block-bytes.test.ts compares
 * both byte for byte.
 */
import type { common } from '@hyperledger/fabric-protos';
import { bytesElement, bytesField, encodeMessage, messageField, NO_FIELD, uint64Field } from './protobuf-wire.ts';

/**
 * `block` serialized: Block{header: BlockHeader{number, previous_hash, data_hash}, data: BlockData{repeated data},
 * metadata: BlockMetadata{repeated metadata}}, each message written when set (even empty), every repeated element
 * written (even empty). Blocks this ledger builds carry no unknown fields, which google-protobuf would keep.
 */
export function encodeBlock(block: common.Block): Buffer {
  const header = block.getHeader();
  const data = block.getData();
  const metadata = block.getMetadata();
  return encodeMessage(
    header
      ? messageField(
          1,
          uint64Field(1, header.getNumber()),
          bytesField(2, header.getPreviousHash_asU8()),
          bytesField(3, header.getDataHash_asU8()),
        )
      : NO_FIELD,
    data ? messageField(2, ...data.getDataList_asU8().map((envelope) => bytesElement(1, envelope))) : NO_FIELD,
    metadata ? messageField(3, ...metadata.getMetadataList_asU8().map((slot) => bytesElement(1, slot))) : NO_FIELD,
  );
}
