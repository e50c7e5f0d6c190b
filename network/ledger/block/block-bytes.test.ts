import { randomBytes } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import { describe, expect, it } from 'vitest';
import { createTestOrg } from '../validation/test-identities.ts';
import { createTestLedger } from '../validation/test-ledger.ts';
import { encodeBlock } from './block-bytes.ts';
import { buildBlock, setTransactionsFilter } from './block-builder.ts';

describe('encodeBlock', () => {
  it("writes google-protobuf's bytes for the blocks the ledger builds, genesis, empty, large and odd ones", async () => {
    const org = await createTestOrg('Org1MSP');
    const orderer = await org.issue('orderer');
    const blocks: common.Block[] = [];
    for (const [number, envelopes] of [
      [0, []],
      [1, [randomBytes(100)]],
      [127, [new Uint8Array(), randomBytes(3)]],
      [128, [randomBytes(2_200_000), randomBytes(5_000), randomBytes(1)]],
      [2 ** 40 + 3, Array.from({ length: 70 }, (_, i) => randomBytes(i * 37))],
    ] as const) {
      const block = buildBlock({
        number,
        previousHash: number === 0 ? new Uint8Array() : randomBytes(32),
        envelopes,
        ordererSigner: orderer,
        lastConfigIndex: number === 0 ? 0 : 7,
      });
      setTransactionsFilter(
        block,
        envelopes.map((_, i) => i % 3),
      );
      blocks.push(block);
    }
    // A block with the optional parts left unset, and one with empty header and metadata messages.
    blocks.push(new common.Block());
    const empty = new common.Block();
    empty.setHeader(new common.BlockHeader());
    empty.setData(new common.BlockData());
    empty.setMetadata(new common.BlockMetadata());
    blocks.push(empty);
    // The genesis config block as a ledger stored it, read back.
    const ledger = await createTestLedger();
    try {
      const stored = await ledger.store.getBlockBytes(0);
      const genesis = await ledger.store.getBlock(0);
      expect(genesis && stored && encodeBlock(genesis).equals(stored)).toBe(true);
    } finally {
      await ledger.dispose();
    }
    for (const block of blocks) {
      expect(encodeBlock(block).equals(Buffer.from(block.serializeBinary()))).toBe(true);
    }
  });
});
