import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { describe, expect, it } from 'vitest';
import type { ChaincodeEventSubscription } from '../ledger/index.ts';
import { FakeEventStream } from '../ledger/test-event-stream.ts';
import { openNodeDatabase } from '../store/index.ts';
import { generateTestKey } from '../receipts/test-fixtures.ts';
import { FakeIndexChain } from '../services/test-node-parts.ts';
import { startReportExchange, type ReportExchangeComponents } from './report-exchange.ts';

/** A chain that answers an empty registry and counts the event streams opened and not closed yet. */
function countingChain(): ReportExchangeComponents['chain'] & { readonly open: () => number } {
  // Each ends when closed, having carried no event.
  const streams: FakeEventStream<never>[] = [];
  const stream = <T>(): Promise<ChaincodeEventSubscription<T>> => {
    const opened = new FakeEventStream<never>();
    streams.push(opened);
    return Promise.resolve(opened);
  };
  const unused = () => Promise.reject(new Error('not asked in this test'));
  return {
    open: () => streams.filter((s) => !s.closed).length,
    registrySnapshot: () => Promise.resolve({ organizations: [], keys: [], nodes: [] }),
    chainInfo: () =>
      Promise.resolve({ height: 1n, currentBlockHash: new Uint8Array(), previousBlockHash: new Uint8Array() }),
    registryChanges: stream,
    consentChanges: stream,
    getConsent: unused,
    recordAccessReceipt: unused,
    recordAccessReceipts: unused,
    blockNumberOf: unused,
    listAccessReceipts: unused,
  };
}

describe('startReportExchange', () => {
  it('leaves no chain event stream followed when its host cannot listen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-report-exchange-'));
    const db = await openNodeDatabase(dir);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const chain = countingChain();
      const { port } = taken.address() as AddressInfo;
      await expect(
        startReportExchange({
          mspId: 'HangzhouCreditMSP',
          p2pKey: await generateKeyPair('Ed25519'),
          listen: [`/ip4/127.0.0.1/tcp/${port}`],
          receiptKey: generateTestKey(),
          chain,
          reports: { latestRecords: () => Promise.resolve([]) },
          index: new FakeIndexChain(),
          verifyAttestation: () => ({ ok: false, code: 'UNKNOWN_ISSUER', reason: 'not asked in this test' }),
          replayDb: db.exchangeReplay,
          journalDb: db.exchangeJournal,
        }),
      ).rejects.toThrow(/configured addresses failed/);
      // Followers left running would have opened their streams by now (every answer above is immediate).
      await sleep(100);
      expect(chain.open()).toBe(0);
    } finally {
      taken.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
