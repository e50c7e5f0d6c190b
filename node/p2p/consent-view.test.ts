import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Consent } from '../../chaincode/src/protocol.ts';
import { ChainError, type ChaincodeEventSubscription, type ConsentChange } from '../ledger/index.ts';
import { ConsentView } from './consent-view.ts';

const ID = 'c'.repeat(64);
const CONSENT: Consent = {
  consentId: ID,
  subject: '91330100MA0000001X',
  grantee: 'ShanghaiBankMSP',
  purpose: 'LOAN_APPROVAL',
  scope: ['loan'],
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: '2027-01-01T00:00:00.000Z',
  authorizationDigest: 'a'.repeat(64),
  recordedBy: 'ShanghaiBankMSP',
  status: 'active',
  grantedAt: '2026-01-01T00:00:00.000Z',
  revokedAt: null,
  revokedBy: null,
  txId: 't'.repeat(64),
};

/**
 * The chain as the view sees it: consents read by ID (counted), the height, and consent events committed by the
 * test (`change`), delivered to the open stream and to one opened later from their block or before;
 * `breakStream` ends the stream with an error as a lost ledger connection does.
 */
class FakeConsentChain {
  consents = new Map<string, Consent>();
  reads = 0;
  streamsOpened = 0;
  /** The block each stream was opened from. */
  readonly startBlocks: bigint[] = [];
  height = 7n;
  /** Moves the open stream's passedBlock on, as other events (anchors) passing it do. */
  passOtherEvents: ((block: bigint) => void) | undefined;
  readonly #committed: ConsentChange[] = [];
  #push: ((change: ConsentChange) => void) | undefined;
  #fail: ((err: Error) => void) | undefined;
  /** Resolves the pending read when set (to hold a read in flight). */
  hold: Promise<unknown> | undefined;

  async getConsent(consentId: string): Promise<Consent | undefined> {
    this.reads++;
    const answer = this.consents.get(consentId);
    if (this.hold) await this.hold;
    return answer;
  }

  chainInfo() {
    return Promise.resolve({
      height: this.height,
      currentBlockHash: new Uint8Array(),
      previousBlockHash: new Uint8Array(),
    });
  }

  consentChanges(startBlock: bigint): Promise<ChaincodeEventSubscription<ConsentChange>> {
    this.streamsOpened++;
    this.startBlocks.push(startBlock);
    const queue = this.#committed.filter((change) => change.blockNumber >= startBlock);
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let closed = false;
    this.#push = (change) => {
      queue.push(change);
      wake?.();
    };
    this.#fail = (err) => {
      failure = err;
      wake?.();
    };
    const close = () => {
      closed = true;
      wake?.();
    };
    let passedBlock: bigint | undefined;
    this.passOtherEvents = (block) => {
      passedBlock = block;
    };
    return Promise.resolve({
      get passedBlock() {
        return passedBlock;
      },
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift();
          if (next !== undefined) {
            passedBlock = next.blockNumber;
            yield next;
            continue;
          }
          if (failure) throw failure;
          if (closed) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      close,
      [Symbol.dispose]: close,
    });
  }

  change(action: ConsentChange['action'], blockNumber = 8n): void {
    const change = { consentId: ID, action, blockNumber, transactionId: 'x' };
    this.#committed.push(change);
    this.height = blockNumber + 1n;
    this.#push?.(change);
  }

  breakStream(): void {
    this.#fail?.(new ChainError('UNAVAILABLE', 'ChaincodeEvents: the ledger went away'));
    this.#push = undefined;
  }
}

const views: ConsentView[] = [];
afterEach(async () => {
  await Promise.all(views.splice(0).map((view) => view.stop()));
});

async function following(chain = new FakeConsentChain(), retryMs = 10) {
  const view = new ConsentView({ chain }, { retryInitialMs: retryMs, retryMaxMs: retryMs });
  views.push(view);
  view.start();
  await until(() => view.following);
  return { chain, view };
}

/** A view that read the consent once while following, whose stream then broke (reopened after `retryMs`). */
async function brokenAfterARead(retryMs: number) {
  const { chain, view } = await following(new FakeConsentChain(), retryMs);
  chain.consents.set(ID, CONSENT);
  await view.getConsent(ID);
  chain.breakStream();
  await until(() => !view.following);
  return { chain, view };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(2);
  expect(condition()).toBe(true);
}

describe('ConsentView', () => {
  it('reads a consent from the chain once, however many requests name it', async () => {
    const { chain, view } = await following();
    chain.consents.set(ID, CONSENT);
    const answers = await Promise.all(Array.from({ length: 10 }, () => view.getConsent(ID)));
    answers.push(await view.getConsent(ID));
    expect(answers).toEqual(Array.from({ length: 11 }, () => CONSENT));
    expect(chain.reads).toBe(1);
  });

  it('refuses to keep a consent the chain does not hold: a grant may follow at any block', async () => {
    const { chain, view } = await following();
    expect(await view.getConsent(ID)).toBeUndefined();
    chain.consents.set(ID, CONSENT);
    expect(await view.getConsent(ID)).toEqual(CONSENT);
    expect(chain.reads).toBe(2);
  });

  it('answers revoked once the revoking block is seen, even when the chain read still shows it active', async () => {
    const { chain, view } = await following();
    chain.consents.set(ID, CONSENT);
    await view.getConsent(ID);
    chain.change('revoked');
    await until(() => view.lastChange?.action === 'revoked');
    // The peer answering the read has not committed the block yet: its answer is still the active consent.
    expect(await view.getConsent(ID)).toMatchObject({ consentId: ID, status: 'revoked' });
    // Nor is that active answer kept: the next request is refused too (review29 C1).
    expect(await view.getConsent(ID)).toMatchObject({ consentId: ID, status: 'revoked' });
    expect(chain.reads).toBe(3);
    // Once the chain shows the revocation, that is what is kept.
    const revoked: Consent = { ...CONSENT, status: 'revoked', revokedAt: '2026-06-01T00:00:00.000Z' };
    chain.consents.set(ID, revoked);
    chain.change('revoked', 9n);
    await until(() => view.lastChange?.blockNumber === 9n);
    expect(await view.getConsent(ID)).toEqual(revoked);
    expect(await view.getConsent(ID)).toEqual(revoked);
    expect(chain.reads).toBe(4);
  });

  it('reopens a broken stream where the last had passed, anchors and all, not where it began (review31 S4)', async () => {
    const { chain, view } = await following(new FakeConsentChain(), 10);
    expect(chain.startBlocks).toEqual([7n]);
    chain.height = 40n;
    chain.passOtherEvents?.(31n);
    chain.breakStream();
    await until(() => chain.streamsOpened === 2 && view.following);
    expect(chain.startBlocks).toEqual([7n, 31n]);
  });

  it('learns of a revocation committed while its stream was down, though a lagging read still shows it active', async () => {
    const { chain, view } = await brokenAfterARead(50);
    // Committed while the view follows nothing; the peer answering reads has not caught up with it.
    chain.change('revoked');
    await until(() => view.following);
    await until(() => view.lastChange?.action === 'revoked');
    expect(await view.getConsent(ID)).toMatchObject({ status: 'revoked' });
    expect(await view.getConsent(ID)).toMatchObject({ status: 'revoked' });
  });

  it('does not keep a read that an event for the same consent overtook', async () => {
    const { chain, view } = await following();
    chain.consents.set(ID, CONSENT);
    const released = Promise.withResolvers<undefined>();
    chain.hold = released.promise;
    const inFlight = view.getConsent(ID);
    chain.change('revoked');
    await until(() => view.lastChange !== undefined);
    released.resolve(undefined);
    // The read began before the revocation: the caller is told it is revoked, and nothing stale is kept.
    expect(await inFlight).toMatchObject({ status: 'revoked' });
    chain.hold = undefined;
    await view.getConsent(ID);
    expect(chain.reads).toBe(2);
  });

  it('reads the chain at every request while the event stream is down, and keeps again once it is reopened', async () => {
    const { chain, view } = await brokenAfterARead(300);
    await view.getConsent(ID);
    expect(chain.reads).toBe(2);
    await until(() => view.following);
    expect(chain.streamsOpened).toBe(2);
    await view.getConsent(ID);
    await view.getConsent(ID);
    expect(chain.reads).toBe(3);
  });
});
