/**
 * The provider's journal on a real LevelDB, against a typed fake of the chain's two receipt transactions: the
 * bundle is kept before the chain is asked, receipts go in batches, a refused batch is retried one by one, and
 * receipts a dead node never got on chain are recorded at the next start.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainError, type AccessReceipt } from '../ledger/index.ts';
import { generateTestKey } from '../receipts/test-fixtures.ts';
import { testUscc } from '../services/test-node-parts.ts';
import { ChainExchangeJournal } from './exchange-journal.ts';
import { encodeAccessReceipt, encodeAccessRequest, type AccessReceipt as SignedReceipt } from './exchange-messages.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { digestOf, signEnvelope } from './exchange-signatures.ts';

type ChainReceipt = Omit<AccessReceipt, 'recordedBy' | 'recordedAt' | 'txId'>;

/** The chain's receipt transactions: refuses receipts whose purpose is in `refused`, as the chaincode would. */
class FakeReceiptChain {
  readonly recorded = new Map<string, ChainReceipt>();
  readonly transactions: number[] = [];
  available = true;
  readonly refused = new Set<string>();

  async recordAccessReceipt(receipt: ChainReceipt) {
    const { result } = await this.recordAccessReceipts([receipt]);
    return { result: result[0] as AccessReceipt, transactionId: 't', blockNumber: 1n };
  }

  async recordAccessReceipts(receipts: readonly ChainReceipt[]) {
    await Promise.resolve();
    if (!this.available) throw new ChainError('UNAVAILABLE', 'the ledger is down');
    if (receipts.some((r) => this.refused.has(r.purpose))) throw new ChainError('REJECTED', 'RECEIPT_CONSENT_MISMATCH');
    this.transactions.push(receipts.length);
    for (const r of receipts) this.recorded.set(r.receiptDigest, r);
    return { result: receipts as AccessReceipt[], transactionId: 't', blockNumber: 1n };
  }
}

const key = generateTestKey();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function bundle(purpose = 'LOAN_APPROVAL'): ExchangeBundle {
  const request = {
    requestId: randomBytes(32).toString('hex'),
    requester: 'ShanghaiBankMSP',
    provider: 'HangzhouCreditMSP',
    subject: testUscc(1),
    kinds: ['loan'],
    purpose,
    consentId: 'c'.repeat(64),
    nonce: randomBytes(16),
    issuedAtMs: Date.now(),
    expiresAtMs: Date.now() + 60_000,
  };
  const requestEnvelope = signEnvelope('access-request', encodeAccessRequest(request), key);
  const receipt: SignedReceipt = {
    requestId: request.requestId,
    requestDigest: digestOf(requestEnvelope),
    provider: request.provider,
    requester: request.requester,
    subject: request.subject,
    purpose,
    consentId: request.consentId,
    records: [],
    reportDigest: Buffer.alloc(32),
    issuedAtMs: Date.now(),
  };
  return {
    request: requestEnvelope,
    receipt: signEnvelope('access-receipt', encodeAccessReceipt(receipt), key),
    acknowledgement: undefined,
    decoded: { request, receipt, acknowledgement: undefined },
  };
}

async function openDb() {
  const dir = await mkdtemp(join(tmpdir(), 'lianxin-journal-'));
  dirs.push(dir);
  const open = async () => {
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return { db, sublevel: db.sublevel<Buffer, Buffer>('journal', { keyEncoding: 'buffer', valueEncoding: 'buffer' }) };
  };
  return open;
}

describe('ChainExchangeJournal', () => {
  it('keeps every bundle and records the receipts in few transactions', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    const journal = new ChainExchangeJournal({ db: sublevel, chain });
    const bundles = Array.from({ length: 30 }, () => bundle());
    await Promise.all(bundles.map((b) => journal.provided(b)));
    await journal.settled();
    const digests = bundles.map((b) => digestOf(b.receipt).toString('hex'));
    expect([...chain.recorded.keys()].sort()).toEqual([...digests].sort());
    expect(chain.transactions.length).toBeLessThan(30);
    expect((await journal.bundle(digests[3] ?? ''))?.decoded.receipt.requestId).toBe(
      bundles[3]?.decoded.receipt.requestId,
    );
    await db.close();
  });

  it('retries a refused batch receipt by receipt, so one bad receipt holds back no other', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    chain.refused.add('MARKETING');
    const errors: unknown[] = [];
    const journal = new ChainExchangeJournal({ db: sublevel, chain, onError: (err) => errors.push(err) });
    const good = [bundle(), bundle()];
    const bad = bundle('MARKETING');
    await Promise.all([...good, bad, bundle()].map((b) => journal.provided(b)));
    await journal.settled();
    expect(chain.recorded.size).toBe(3);
    expect(chain.recorded.has(digestOf(bad.receipt).toString('hex'))).toBe(false);
    expect(errors).toHaveLength(1);
    await db.close();
  });

  it('records at the next start the receipts a node kept but never got on chain', async () => {
    const open = await openDb();
    const first = await open();
    const down = new FakeReceiptChain();
    down.available = false;
    const before = new ChainExchangeJournal({ db: first.sublevel, chain: down, onError: () => undefined });
    const kept = [bundle(), bundle()];
    for (const b of kept) await before.provided(b);
    await before.settled();
    await first.db.close();

    const second = await open();
    const up = new FakeReceiptChain();
    const after = new ChainExchangeJournal({ db: second.sublevel, chain: up });
    await after.start();
    await after.settled();
    expect([...up.recorded.keys()].sort()).toEqual(kept.map((b) => digestOf(b.receipt).toString('hex')).sort());
    // Recorded: the next start has nothing left to do.
    const again = new FakeReceiptChain();
    await new ChainExchangeJournal({ db: second.sublevel, chain: again }).start();
    expect(again.recorded.size).toBe(0);
    await second.db.close();
  });

  it('offers receipts again once the chain is back, without a restart', async () => {
    const { db, sublevel } = await (await openDb())();
    const chain = new FakeReceiptChain();
    chain.available = false;
    const journal = new ChainExchangeJournal({ db: sublevel, chain, onError: () => undefined });
    const kept = bundle();
    await journal.provided(kept);
    await journal.settled();
    expect(chain.recorded.size).toBe(0);
    chain.available = true;
    await journal.start();
    await journal.settled();
    expect([...chain.recorded.keys()]).toEqual([digestOf(kept.receipt).toString('hex')]);
    await db.close();
  });
});
