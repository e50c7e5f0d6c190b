/**
 * Builds Fabric 2.x blocks as a solo orderer writes them (reference §11, `orderer/common/multichannel/blockwriter.go`).
 */
import { randomBytes } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import type { Signer } from '../types.ts';
import { blockDataHash, blockHeaderBytes } from './block-hash.ts';
import { BlockFormatError } from './errors.ts';

/** `common.BlockMetadataIndex`: a block always carries these 5 slots (`protoutil.NewBlock`). */
export const METADATA_SLOTS = 5;
/** Nonce length of Fabric's `crypto.GetRandomNonce` (`common/crypto/random.go`). */
const NONCE_LENGTH = 24;

export interface BuildBlockOptions {
  readonly number: number;
  /** Header hash of block `number - 1`; empty for block 0. */
  readonly previousHash: Uint8Array;
  /** Serialized `common.Envelope`s, stored byte for byte. */
  readonly envelopes: readonly Uint8Array[];
  readonly ordererSigner: Signer;
  readonly lastConfigIndex: number;
}

/**
 * A block with its header, data and the orderer's metadata (slots 0, 1, 3). TRANSACTIONS_FILTER (2) and
 * COMMIT_HASH (4) are the committing peer's: see {@link setTransactionsFilter} and the store's commit hash.
 */
export function buildBlock(options: Readonly<BuildBlockOptions>): common.Block {
  const envelopes = [...options.envelopes];
  const dataHash = blockDataHash(envelopes);
  const header = new common.BlockHeader();
  header.setNumber(options.number);
  header.setPreviousHash(options.previousHash);
  header.setDataHash(dataHash);

  const data = new common.BlockData();
  data.setDataList(envelopes);

  const lastConfig = new common.LastConfig();
  lastConfig.setIndex(options.lastConfigIndex);
  const ordererMetadata = new common.OrdererBlockMetadata();
  ordererMetadata.setLastConfig(lastConfig);

  const lastConfigMetadata = new common.Metadata();
  lastConfigMetadata.setValue(lastConfig.serializeBinary());

  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([
    signedOrdererMetadata(ordererMetadata.serializeBinary(), header, options.ordererSigner).serializeBinary(),
    lastConfigMetadata.serializeBinary(),
    new Uint8Array(),
    new Uint8Array(),
    new Uint8Array(),
  ]);

  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  builtData.set(block, { dataHash, envelopes });
  return block;
}

/** What {@link buildBlock} hashed into each block it built: the data hash and the envelopes, as objects. */
const builtData = new WeakMap<
  common.Block,
  { readonly dataHash: Uint8Array; readonly envelopes: readonly Uint8Array[] }
>();

/**
 * Whether `block` was built by {@link buildBlock} and still holds the data hash it computed over the very envelopes
 * it still holds (the same objects, in order): its data hash is then right without hashing the envelopes again,
 * which for a large anchor is megabytes a second time. Any block whose header or data was replaced since answers
 * false, and must be hashed.
 */
export function holdsBuiltDataHash(block: common.Block): boolean {
  const built = builtData.get(block);
  if (built === undefined || block.getHeader()?.getDataHash_asU8() !== built.dataHash) return false;
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  return (
    envelopes.length === built.envelopes.length && envelopes.every((envelope, i) => envelope === built.envelopes[i])
  );
}

/**
 * SIGNATURES metadata: the orderer signs `value ‖ signature_header ‖ header ASN.1` (`blockwriter.go:209`,
 * `protoutil.BlockSignatureVerifier` checks the same concatenation).
 */
function signedOrdererMetadata(value: Uint8Array, header: common.BlockHeader, signer: Signer): common.Metadata {
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(signer.serializedIdentity);
  signatureHeader.setNonce(randomBytes(NONCE_LENGTH));
  const signatureHeaderBytes = signatureHeader.serializeBinary();

  const signature = new common.MetadataSignature();
  signature.setSignatureHeader(signatureHeaderBytes);
  signature.setSignature(signer.sign(ordererSignedBytes(value, signatureHeaderBytes, header)));

  const metadata = new common.Metadata();
  metadata.setValue(value);
  metadata.setSignaturesList([signature]);
  return metadata;
}

/** The bytes an orderer signs for a block: `value ‖ signature_header ‖ header ASN.1`. */
export function ordererSignedBytes(value: Uint8Array, signatureHeader: Uint8Array, header: common.BlockHeader): Buffer {
  return Buffer.concat([value, signatureHeader, blockHeaderBytes(header)]);
}

/** Writes TRANSACTIONS_FILTER: raw bytes, one `TxValidationCode` per transaction (`internal/pkg/txflags`). */
export function setTransactionsFilter(block: common.Block, codes: readonly number[]): void {
  const count = block.getData()?.getDataList().length ?? 0;
  if (codes.length !== count) {
    throw new BlockFormatError(
      'BAD_METADATA',
      `"codes" has ${String(codes.length)} entries for ${String(count)} transactions`,
    );
  }
  setMetadataSlot(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER, Uint8Array.from(codes));
}

export function getTransactionsFilter(block: common.Block): Uint8Array {
  return metadataSlot(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER);
}

/** Raw bytes of metadata slot `index` (empty when absent). */
export function metadataSlot(block: common.Block, index: number): Uint8Array {
  const list = block.getMetadata()?.getMetadataList_asU8() ?? [];
  return list[index] ?? new Uint8Array();
}

export function setMetadataSlot(block: common.Block, index: number, value: Uint8Array): void {
  const metadata = block.getMetadata() ?? new common.BlockMetadata();
  const list = metadata.getMetadataList_asU8();
  while (list.length < METADATA_SLOTS) list.push(new Uint8Array());
  list[index] = value;
  metadata.setMetadataList(list);
  block.setMetadata(metadata);
}
