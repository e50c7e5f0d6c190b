import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrustBundle, verifyAttestation, type TrustBundle } from '../receipts/index.ts';
import {
  bodyOf,
  bundleOf,
  createTestLog,
  createTestOrg,
  unsignedAttestation,
  type TestLog,
} from '../receipts/test-fixtures.ts';
import { AttestationBatcher } from './attestation-batcher.ts';

let log: TestLog;
let bundle: TrustBundle;

beforeAll(async () => {
  const agency = await createTestOrg('HangzhouAgencyMSP', 'agency');
  bundle = parseTrustBundle(JSON.stringify(bundleOf([agency])));
  log = createTestLog(agency, 6);
});

const body = (i: number) => bodyOf(unsignedAttestation(log, i));
/** Long enough that a test waiting for it would time out: what must not wait, does not. */
const NEVER_MS = 60_000;

describe('AttestationBatcher', () => {
  it('signs a lone answer at once, as a batch of 1, without waiting for its timer', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: NEVER_MS });
    const attestation = await batcher.expect().sign(body(2));
    expect(attestation.batch).toMatchObject({ index: 0, size: 1, path: [] });
    expect(verifyAttestation(attestation, bundle)).toMatchObject({ ok: true, leafIndex: 2 });
  });

  it('waits for every announced answer, then signs them together in arrival order', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: NEVER_MS });
    const tickets = [0, 1, 2, 3].map(() => batcher.expect());
    const order = [3, 0, 2, 1];
    const signed = order.map((i) => {
      const ticket = tickets[i];
      if (ticket === undefined) throw new RangeError(`no ticket ${i}`);
      return ticket.sign(body(i));
    });
    const attestations = await Promise.all(signed);
    const signatures = new Set(attestations.map((a) => a.signature?.signature.toString('hex')));
    expect(signatures.size).toBe(1);
    attestations.forEach((a, position) => {
      expect(a.batch).toMatchObject({ index: position, size: 4 });
      expect(verifyAttestation(a, bundle)).toMatchObject({ ok: true, leafIndex: order[position] });
    });
  });

  it('joins answers that arrive one after the other in the same event loop turn, none announced in advance', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: NEVER_MS });
    // As a stream's requests read from one socket read, each looked up synchronously before the next is read.
    const first = batcher.expect().sign(body(0));
    const second = batcher.expect().sign(body(1));
    const attestations = await Promise.all([first, second]);
    expect(attestations.map((a) => a.batch?.size)).toEqual([2, 2]);
  });

  it('does not hold a batch for an answer whose lookups failed', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: NEVER_MS });
    const [failing, answering] = [batcher.expect(), batcher.expect()];
    const signed = answering.sign(body(1));
    failing.withdraw();
    failing.withdraw();
    expect((await signed).batch).toMatchObject({ index: 0, size: 1 });
  });

  it('signs what has arrived after maxWaitMs when an announced answer is slow', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: 5 });
    const slow = batcher.expect();
    const attestation = await batcher.expect().sign(body(4));
    expect(attestation.batch).toMatchObject({ index: 0, size: 1 });
    expect((await slow.sign(body(5))).batch).toMatchObject({ index: 0, size: 1 });
  });

  it('signs at most maxBatch answers together', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxBatch: 2, maxWaitMs: NEVER_MS });
    const tickets = [0, 1, 2, 3, 4].map(() => batcher.expect());
    const attestations = await Promise.all(tickets.map((t, i) => t.sign(body(i))));
    expect(attestations.map((a) => [a.batch?.index, a.batch?.size])).toEqual([
      [0, 2],
      [1, 2],
      [0, 2],
      [1, 2],
      [0, 1],
    ]);
  });

  it('holds answers that wait for a fuller batch across turns, then signs them together once it is full', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: NEVER_MS });
    const early = [0, 1].map((i) => batcher.expect({ waitFor: 3 }).sign(body(i)));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const late = batcher.expect({ waitFor: 3 }).sign(body(2));
    const attestations = await Promise.all([...early, late]);
    expect(attestations.map((a) => [a.batch?.index, a.batch?.size])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    attestations.forEach((a, i) => {
      expect(verifyAttestation(a, bundle)).toMatchObject({ ok: true, leafIndex: i });
    });
  });

  it('signs waiting answers at the end of the turn in which one arrives that does not wait', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: NEVER_MS });
    const patient = batcher.expect({ waitFor: 16 }).sign(body(0));
    await new Promise((resolve) => setImmediate(resolve));
    const unary = batcher.expect().sign(body(1));
    expect((await Promise.all([patient, unary])).map((a) => a.batch?.size)).toEqual([2, 2]);
  });

  it('signs answers that wait for a fuller batch after maxWaitMs when no more come', async () => {
    const batcher = new AttestationBatcher(log.org.receiptKey, { maxWaitMs: 5 });
    const attestation = await batcher.expect({ waitFor: 16 }).sign(body(3));
    expect(attestation.batch).toMatchObject({ index: 0, size: 1 });
  });
});
