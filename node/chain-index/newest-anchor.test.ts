import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ChainError, type AnchoredCheckpoint, type LianxinChain, type RegistrySnapshot } from '../ledger/index.ts';
import { newestAnchorBlock } from './newest-anchor.ts';

const ORIGINS = ['lianxin/HangzhouCreditMSP/0', 'lianxin/HefeiCreditMSP/0', 'lianxin/NingboAgencyMSP/0'];

const registry: RegistrySnapshot = {
  organizations: [],
  keys: [],
  nodes: ORIGINS.map((origin) => ({
    mspId: origin.split('/')[1] ?? '',
    nodeId: 'node-1',
    endpoint: 'grpcs://node-1:7443',
    peerId: 'peer0',
    addresses: [],
    shard: '',
    origin,
    registeredAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  })),
};

const checkpoint = (origin: string): AnchoredCheckpoint => ({
  origin,
  mspId: origin.split('/')[1] ?? '',
  size: '1',
  rootHash: '',
  checkpoint: '',
  kid: '',
  previousSize: null,
  indexCount: 0,
  txId: `tx-of-${origin}`,
  anchoredAt: '2026-12-01T00:00:00.000Z',
});

/** A chain where each origin's latest anchor is in `blocks` (by origin), or the ledger answers `refusal` for it. */
function chainWith(
  blocks: Readonly<Record<string, bigint | ChainError>>,
): Pick<LianxinChain, 'registrySnapshot' | 'getCheckpoint' | 'blockNumberOf'> {
  return {
    registrySnapshot: () => Promise.resolve(registry),
    getCheckpoint: (origin) => Promise.resolve(origin in blocks ? checkpoint(origin) : undefined),
    blockNumberOf: (transactionId) => {
      const block = blocks[transactionId.slice('tx-of-'.length)];
      if (block === undefined) return Promise.reject(new Error(`unexpected ${transactionId}`));
      return block instanceof ChainError ? Promise.reject(block) : Promise.resolve(block);
    },
  };
}

/** What a Fabric peer that joined the channel from a ledger snapshot answers for a transaction below it. */
const BELOW_SNAPSHOT = new ChainError(
  'REJECTED',
  'GetBlockByTxID: details for the TXID [tx] not available. Ledger bootstrapped from a snapshot. First available block = [1200]',
);

describe('newestAnchorBlock', () => {
  it("leaves out, with a warning, an origin whose latest anchor's block the ledger does not name", async () => {
    const warned: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warned.push(JSON.parse(line)) });
    const chain = chainWith({ [ORIGINS[0] ?? '']: 1500n, [ORIGINS[1] ?? '']: BELOW_SNAPSHOT });

    expect(await newestAnchorBlock(chain, logger)).toBe(1500n);
    expect(warned).toEqual([
      expect.objectContaining({ origin: ORIGINS[1], transactionId: `tx-of-${ORIGINS[1] ?? ''}` }),
    ]);
  });

  it('fails, to be retried, while the ledger does not answer for an origin or refuses otherwise', async () => {
    for (const err of [
      new ChainError('UNAVAILABLE', 'the ledger does not answer'),
      // A Fabric gateway's Evaluate refused (evaluate.go): counted REJECTED, and says nothing of the block.
      new ChainError('REJECTED', '9 FAILED_PRECONDITION: no peers available to evaluate chaincode qscc'),
    ]) {
      const chain = chainWith({ [ORIGINS[0] ?? '']: 1500n, [ORIGINS[1] ?? '']: err });
      await expect(newestAnchorBlock(chain, pino({ level: 'silent' }))).rejects.toThrow(err.message);
    }
  });
});
