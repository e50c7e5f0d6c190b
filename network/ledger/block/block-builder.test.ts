import type { ChannelMsps } from '../msp/index.ts';
import { common } from '@hyperledger/fabric-protos';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, channelMspsOf, type TestSigner } from '../validation/test-identities.ts';
import {
  buildBlock,
  getTransactionsFilter,
  holdsBuiltDataHash,
  ordererSignedBytes,
  setTransactionsFilter,
} from './block-builder.ts';
import { blockDataHash } from './block-hash.ts';

describe('buildBlock', () => {
  let orderer: TestSigner;
  let identities: ChannelMsps;
  beforeAll(async () => {
    const org = await createTestOrg('OrdererMSP');
    orderer = await org.issue('orderer');
    identities = channelMspsOf([org]);
  });

  const envelopes = [Uint8Array.of(1, 2, 3), Uint8Array.of(4)];
  const build = () =>
    buildBlock({ number: 7, previousHash: Buffer.alloc(32, 9), envelopes, ordererSigner: orderer, lastConfigIndex: 3 });

  it('writes the header, the envelopes byte for byte and 5 metadata slots', () => {
    const block = common.Block.deserializeBinary(build().serializeBinary());
    expect(block.getHeader()?.getNumber()).toBe(7);
    expect(Buffer.from(block.getHeader()?.getDataHash_asU8() ?? [])).toEqual(blockDataHash(envelopes));
    expect(block.getData()?.getDataList_asU8()).toEqual(envelopes);
    const slots = block.getMetadata()?.getMetadataList_asU8() ?? [];
    expect(slots).toHaveLength(5);
    expect(
      common.LastConfig.deserializeBinary(
        common.Metadata.deserializeBinary(slots[1] ?? new Uint8Array()).getValue_asU8(),
      ).getIndex(),
    ).toBe(3);
    expect(slots[2]).toHaveLength(0);
    expect(slots[3]).toHaveLength(0);
  });

  it('vouches for the data hash of a block it built only while the block holds that hash and those envelopes', () => {
    expect(holdsBuiltDataHash(build())).toBe(true);
    const filtered = build();
    setTransactionsFilter(filtered, [0, 0]);
    expect(holdsBuiltDataHash(filtered)).toBe(true);
    const dataReplaced = build();
    dataReplaced.getData()?.setDataList([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    expect(holdsBuiltDataHash(dataReplaced)).toBe(false);
    const shortened = build();
    shortened.getData()?.setDataList(envelopes.slice(0, 1));
    expect(holdsBuiltDataHash(shortened)).toBe(false);
    const hashReplaced = build();
    hashReplaced.getHeader()?.setDataHash(blockDataHash(envelopes));
    expect(holdsBuiltDataHash(hashReplaced)).toBe(false);
    expect(holdsBuiltDataHash(common.Block.deserializeBinary(build().serializeBinary()))).toBe(false);
  });

  it('signs value ‖ signature_header ‖ header ASN.1 with the orderer identity and a 24-byte nonce', () => {
    const block = build();
    const metadata = common.Metadata.deserializeBinary(
      block.getMetadata()?.getMetadataList_asU8()[0] ?? new Uint8Array(),
    );
    expect(common.OrdererBlockMetadata.deserializeBinary(metadata.getValue_asU8()).getLastConfig()?.getIndex()).toBe(3);
    const [signature] = metadata.getSignaturesList();
    if (!signature || !block.getHeader()) throw new Error('no signature');
    const header = common.SignatureHeader.deserializeBinary(signature.getSignatureHeader_asU8());
    expect(header.getNonce_asU8()).toHaveLength(24);
    const signed = ordererSignedBytes(
      metadata.getValue_asU8(),
      signature.getSignatureHeader_asU8(),
      block.getHeader() as common.BlockHeader,
    );
    const check = identities.verifySignature(header.getCreator_asU8(), signed, signature.getSignature_asU8());
    expect(check).toMatchObject({ ok: true, identity: { nodeOU: 'orderer' } });
  });

  it('stores TRANSACTIONS_FILTER as raw bytes, one code per transaction', () => {
    const block = build();
    setTransactionsFilter(block, [0, 11]);
    expect([...getTransactionsFilter(block)]).toEqual([0, 11]);
    expect(() => {
      setTransactionsFilter(block, [0]);
    }).toThrow(expect.objectContaining({ code: 'BAD_METADATA' }));
  });
});
