/**
 * Fabric's block hashes (reference §11): the header hash chains blocks, the data hash binds a header to its envelopes.
 */
import type { common } from '@hyperledger/fabric-protos';
import { sha256 } from '../../crypto/index.ts';
import { sha256Parts } from './sha256-parts.ts';

export interface BlockHeaderFields {
  readonly number: number | bigint;
  readonly previousHash: Uint8Array;
  readonly dataHash: Uint8Array;
}

/**
 * ASN.1 DER `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }`
 * (`protoutil/blockutils.go:46`, `BlockHeaderBytes`). Fabric encodes the number as a big.Int of the uint64,
 * so numbers with the top bit set get a leading 0x00.
 */
export function blockHeaderBytes(header: BlockHeaderFields | common.BlockHeader): Buffer {
  const fields = 'getNumber' in header ? fieldsOf(header) : header;
  const body = Buffer.concat([
    derTlv(0x02, derUnsignedInteger(BigInt(fields.number))),
    derTlv(0x04, fields.previousHash),
    derTlv(0x04, fields.dataHash),
  ]);
  return derTlv(0x30, body);
}

/** SHA-256 of {@link blockHeaderBytes}: the `previous_hash` of the next block (`protoutil/blockutils.go:58`). */
export function blockHeaderHash(header: BlockHeaderFields | common.BlockHeader): Buffer {
  return sha256(blockHeaderBytes(header));
}

/**
 * SHA-256 over the plain concatenation of the serialized envelopes (`protoutil/blockutils.go:67`): not a Merkle tree.
 * Hashed envelope by envelope, not concatenated first (sha256-parts.ts).
 */
export function blockDataHash(envelopes: readonly Uint8Array[]): Buffer {
  return sha256Parts(envelopes);
}

function fieldsOf(header: common.BlockHeader): BlockHeaderFields {
  return {
    number: header.getNumber(),
    previousHash: header.getPreviousHash_asU8(),
    dataHash: header.getDataHash_asU8(),
  };
}

function derUnsignedInteger(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('block number must not be negative');
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const bytes = Buffer.from(hex, 'hex');
  return (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

/** DER tag-length-value with the definite length form (short below 128, long above: X.690 §8.1.3). */
function derTlv(tag: number, content: Uint8Array): Buffer {
  const len = content.length;
  if (len < 0x80) return Buffer.concat([Buffer.of(tag, len), content]);
  let lenHex = len.toString(16);
  if (lenHex.length % 2) lenHex = '0' + lenHex;
  const lenBytes = Buffer.from(lenHex, 'hex');
  return Buffer.concat([Buffer.of(tag, 0x80 | lenBytes.length), lenBytes, content]);
}
