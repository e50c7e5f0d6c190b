/**
 * The provider's checks, over real libp2p TCP on loopback between two hosts: what it refuses (and with which
 * signed reason), how it dates its receipt, and which acknowledgements it keeps. The chain's parts are typed fakes
 * of the narrow interfaces, the provider's registry a view of its own so that a test can change what the provider
 * knows of the requester without the gater cutting the connection (test/p2p-exchange.test.ts runs the real ledger).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { lpStream } from '@libp2p/utils';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CHAIN_CLOCK_SKEW_MS, consentCovers, type Consent } from '../../chaincode/src/protocol.ts';
import { sha256 } from '../../network/crypto/index.ts';
import { generateTestKey, type TestKey } from '../receipts/test-fixtures.ts';
import { testUscc } from '../services/test-node-parts.ts';
import { NodeError } from '../api/errors.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, EXCHANGE_PROTOCOL, MAX_CLOCK_SKEW_MS } from './constants.ts';
import {
  decodeAccessReceipt,
  decodeAccessRequest,
  decodeFrame,
  encodeAccessReceipt,
  encodeAccessRequest,
  encodeAcknowledgement,
  encodeFrame,
  encodeRefusal,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
  type SignedEnvelope,
} from './exchange-messages.ts';
import type { ExchangeBundle, ProvidedRecord } from './exchange-ports.ts';
import { MAX_EXCHANGES_PER_PEER, ReportProvider } from './exchange-provider.ts';
import { consentProblem } from './bundle-verifier.ts';
import { digestOf, signEnvelope } from './exchange-signatures.ts';
import { startP2pHost, type P2pHost } from './p2p-host.ts';
import { RegistryView } from './registry-view.ts';
import { disputingRequester, keepingJournal, memoryReplay, refusalOf } from './test-exchange.ts';
import { snapshotOf, testPeer, type SnapshotMember } from './test-registry.ts';

const BANK = 'ShanghaiBankMSP';
const AGENCY = 'HangzhouCreditMSP';
const SUBJECT = testUscc(1);
const CONSENT_ID = 'c'.repeat(64);
const DAY = 86_400_000;

const AGENCY2 = 'HefeiCreditMSP';
const bankKey = generateTestKey();
const agencyKey = generateTestKey();
const agency2Key = generateTestKey();
const hosts: P2pHost[] = [];
/** What the provider kept, and what its onError saw. */
const provided: ExchangeBundle[] = [];
const acknowledged: ExchangeBundle[] = [];
const errors: unknown[] = [];
let bankHost: P2pHost;
/** The hosts' registry (the gater's, and the requester's view of the agency's keys). */
let registry: RegistryView;
/** The provider's own view of the registry. */
let providerView: RegistryView;
let members: SnapshotMember[];
let provider: ReportProvider;

const defaultConsent = (): Consent => ({
  consentId: CONSENT_ID,
  subject: SUBJECT,
  grantee: BANK,
  purpose: 'LOAN_APPROVAL',
  scope: ['loan'],
  validFrom: new Date(Date.now() - DAY).toISOString(),
  validUntil: new Date(Date.now() + DAY).toISOString(),
  authorizationDigest: 'a'.repeat(64),
  recordedBy: BANK,
  status: 'active',
  grantedAt: new Date(Date.now() - DAY).toISOString(),
  revokedAt: null,
  revokedBy: null,
  txId: 'tx',
});

const RECORD: ProvidedRecord = {
  record: {
    kind: 'loan',
    version: 1,
    contentType: 'application/json',
    content: Buffer.from('{"balance":1}'),
    attestation: Buffer.from('not checked here'),
  },
  leafHash: Buffer.alloc(32, 7),
};

/** What each test may change; `reset()` restores it after each. */
/** The consent view's answer: `state.consent` under its ID. */
const consentById = (consentId: string) => Promise.resolve(consentId === CONSENT_ID ? state.consent : undefined);

/** The second agency's honest refusal of `request`. */
const honestRefusal = (request: SignedEnvelope): SignedEnvelope =>
  signEnvelope(
    'refusal',
    encodeRefusal({
      requestId: decodeAccessRequest(request.body).requestId,
      requestDigest: digestOf(request),
      provider: AGENCY2,
      reason: 'UNKNOWN_SUBJECT',
      detail: '',
      issuedAtMs: Date.now(),
    }),
    agency2Key,
  );

const state: {
  now: () => number;
  consent: Consent;
  latestRecords: () => Promise<ProvidedRecord[]>;
  getConsent: (consentId: string) => Promise<Consent | undefined>;
  /** What the second agency, which refuses every request, answers. */
  refuse: (request: SignedEnvelope) => SignedEnvelope;
  /** Set, the second agency answers this receipt instead (and an empty report): a provider that lies. */
  receipt: ((request: SignedEnvelope) => SignedEnvelope) | undefined;
} = {
  receipt: undefined,
  refuse: honestRefusal,
  getConsent: (id) => consentById(id),
  now: Date.now,
  consent: defaultConsent(),
  latestRecords: (): Promise<ProvidedRecord[]> => Promise.resolve([RECORD]),
};

afterEach(() => {
  state.now = Date.now;
  state.consent = defaultConsent();
  state.latestRecords = () => Promise.resolve([RECORD]);
  state.refuse = honestRefusal;
  state.receipt = undefined;
  state.getConsent = consentById;
  providerView.replace(snapshotOf(members));
});

beforeAll(async () => {
  const [bank, agency, agency2] = await Promise.all([testPeer(BANK), testPeer(AGENCY), testPeer(AGENCY2)]);
  registry = new RegistryView(snapshotOf([]));
  bankHost = await startP2pHost({ privateKey: bank.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry });
  const agencyHost = await startP2pHost({ privateKey: agency.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry });
  const agency2Host = await startP2pHost({
    privateKey: agency2.privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    registry,
  });
  hosts.push(bankHost, agencyHost, agency2Host);
  const address = (host: P2pHost) => host.addresses().map((a) => a.replace(/\/p2p\/.*$/, ''));
  members = [
    { mspId: BANK, peerId: bank.peerId, addresses: address(bankHost), receiptKeys: [bankKey] },
    { mspId: AGENCY, peerId: agency.peerId, addresses: address(agencyHost), role: 'agency', receiptKeys: [agencyKey] },
    {
      mspId: AGENCY2,
      peerId: agency2.peerId,
      addresses: address(agency2Host),
      role: 'agency',
      receiptKeys: [agency2Key],
    },
  ];
  registry.replace(snapshotOf(members));
  providerView = new RegistryView(snapshotOf(members));
  provider = new ReportProvider(
    {
      mspId: AGENCY,
      receiptKey: agencyKey,
      registry: providerView,
      consents: { getConsent: (id) => state.getConsent(id) },
      reports: { latestRecords: () => state.latestRecords() },
      replay: memoryReplay(),
      journal: keepingJournal(provided, acknowledged),
      now: () => state.now(),
    },
    { messageTimeoutMs: 2_000, onError: (err) => errors.push(err) },
  );
  await agencyHost.handle(EXCHANGE_PROTOCOL, provider.handler);
  // The second agency reads the request and answers `state.refuse`'s refusal.
  await agency2Host.handle(EXCHANGE_PROTOCOL, (stream) => {
    const lp = lpStream(stream, { maxDataLength: DEFAULT_MAX_MESSAGE_BYTES });
    void (async () => {
      const frame = decodeFrame((await lp.read()).subarray());
      if (frame.kind !== 'request') throw new Error(`expected a request, got ${frame.kind}`);
      const answer =
        state.receipt === undefined
          ? encodeFrame({ kind: 'refusal', envelope: state.refuse(frame.envelope) })
          : encodeFrame({ kind: 'receipt', envelope: state.receipt(frame.envelope) });
      await lp.write(answer);
      await stream.close();
    })().catch((err: unknown) => {
      stream.abort(err as Error);
    });
  });
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
});

const requester = () => disputingRequester({ mspId: BANK, receiptKey: bankKey, host: bankHost, registry });

const query = { provider: AGENCY, subject: SUBJECT, kinds: ['loan'], purpose: 'LOAN_APPROVAL', consentId: CONSENT_ID };

/**
 * Runs an exchange as a requester that acknowledges the receipt with `change` applied (signed with `key`), and
 * resolves with what the provider's onError saw of it and whether it kept the acknowledgement.
 */
async function acknowledgeWith(
  change: (receipt: AccessReceipt) => Partial<Acknowledgement>,
  key: TestKey = bankKey,
): Promise<{ errors: unknown[]; kept: boolean }> {
  const [errorsBefore, keptBefore] = [errors.length, acknowledged.length];
  const stream = await bankHost.openStream(AGENCY, EXCHANGE_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: DEFAULT_MAX_MESSAGE_BYTES });
  await lp.write(encodeFrame({ kind: 'request', envelope: requester().signRequest(query) }));
  const read = async () => decodeFrame((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray());
  let frame = await read();
  while (frame.kind === 'chunk') frame = await read();
  if (frame.kind !== 'receipt') throw new Error(`expected a receipt, got ${frame.kind}`);
  const receipt = decodeAccessReceipt(frame.envelope.body);
  const acknowledgement: Acknowledgement = {
    requestId: receipt.requestId,
    receiptDigest: digestOf(frame.envelope),
    requester: BANK,
    status: 'ACCEPTED',
    disputeReason: '',
    issuedAtMs: Date.now(),
    ...change(receipt),
  };
  await lp.write(
    encodeFrame({
      kind: 'acknowledgement',
      envelope: signEnvelope('acknowledgement', encodeAcknowledgement(acknowledgement), key),
    }),
  );
  // The provider is done once it kept the acknowledgement or reported why not.
  await vi.waitFor(() => {
    expect(errors.length + acknowledged.length).toBeGreaterThan(errorsBefore + keptBefore);
  });
  await stream.close().catch(() => undefined);
  return { errors: errors.slice(errorsBefore), kept: acknowledged.length > keptBefore };
}

describe('the provider', () => {
  it('dates its receipt when it checked the consent, the time the chain checks it at again', async () => {
    // Each reading of the provider's clock is a second later; the consent ends between the first two.
    let at = Date.now();
    state.now = () => (at += 1_000);
    state.consent = { ...defaultConsent(), validUntil: new Date(at + 1_500).toISOString() };
    const before = provided.length;
    await requester().requestReport(query);
    const receipt = provided[before]?.decoded.receipt;
    expect(receipt).toBeDefined();
    expect(consentCovers(state.consent, query.purpose, 'loan', receipt?.issuedAtMs ?? 0)).toBe(true);
  });

  it('answers a signed UNAVAILABLE with a retry hint when its records cannot be read, and logs the cause', async () => {
    const cause = new NodeError('FAILED_PRECONDITION', 'leaf 3 is not yet checkpointed: retry shortly', {
      retryAfterMs: 250,
    });
    state.latestRecords = () => Promise.reject(cause);
    const errorsBefore = errors.length;
    const refused = await refusalOf(requester().requestReport(query));
    expect(refused.reason).toBe('UNAVAILABLE');
    expect(refused.detail).toBe(`${AGENCY} cannot read the records now: retry in 250 ms`);
    expect(errors.slice(errorsBefore)).toEqual([cause]);
  });

  it("refuses, when the chain cannot be read, without the chain's message, which it logs", async () => {
    const cause = new Error('connect ECONNREFUSED 10.0.3.7:7051 (peer0.hangzhou.internal)');
    state.getConsent = () => Promise.reject(cause);
    const errorsBefore = errors.length;
    const refused = await refusalOf(requester().requestReport(query));
    expect(refused.reason).toBe('UNAVAILABLE');
    expect(refused.detail).toBe(`${AGENCY} cannot read consent ${CONSENT_ID} now: retry shortly`);
    expect(errors.slice(errorsBefore)).toEqual([cause]);
  });

  it('refuses a revoked consent, also one whose revocation is dated after its own clock', async () => {
    state.consent = {
      ...defaultConsent(),
      status: 'revoked',
      revokedAt: new Date(Date.now() + 60_000).toISOString(),
      revokedBy: BANK,
    };
    expect((await refusalOf(requester().requestReport(query))).reason).toBe('CONSENT_REVOKED');
  });

  it('refuses a consent not yet in force as NO_CONSENT, one past its end as CONSENT_EXPIRED', async () => {
    const from = new Date(Date.now() + DAY).toISOString();
    state.consent = { ...defaultConsent(), validFrom: from, validUntil: new Date(Date.now() + 2 * DAY).toISOString() };
    const early = await refusalOf(requester().requestReport(query));
    expect([early.reason, early.detail]).toEqual(['NO_CONSENT', `consent ${CONSENT_ID} is valid only from ${from}`]);
    state.consent = { ...defaultConsent(), validUntil: new Date(Date.now() - 1).toISOString() };
    expect((await refusalOf(requester().requestReport(query))).reason).toBe('CONSENT_EXPIRED');
  });

  it("refuses a consent the chain recorded beyond its skew ahead of this node's clock, as the chain and the audit do", async () => {
    const grantedAt = (ms: number) => ({ ...defaultConsent(), grantedAt: new Date(ms).toISOString() });
    state.consent = grantedAt(Date.now() + CHAIN_CLOCK_SKEW_MS + 60_000);
    const refused = await refusalOf(requester().requestReport(query));
    expect([refused.reason, refused.detail]).toEqual([
      'NO_CONSENT',
      `consent ${CONSENT_ID} was recorded at ${state.consent.grantedAt}, more than ${CHAIN_CLOCK_SKEW_MS} ms ahead ` +
        `of ${AGENCY}'s clock: retry later`,
    ]);
    // A granting machine's clock a minute fast is within the skew: served, and the audit agrees.
    state.consent = grantedAt(Date.now() + 60_000);
    const before = provided.length;
    await requester().requestReport(query);
    const served = provided[before];
    if (served === undefined) throw new Error('the request was not served');
    expect(consentProblem(served, state.consent)).toBeUndefined();
  });

  it('refuses a request from a peer that is not a node of the institution it names', async () => {
    // The bank's peer is registered to the second agency: its request, signed with the bank's key, is not the bank's.
    const [bank, agency, agency2] = members;
    if (bank === undefined || agency === undefined || agency2 === undefined) throw new Error('no members');
    providerView.replace(
      snapshotOf([{ ...bank, peerId: agency2.peerId }, agency, { ...agency2, peerId: bank.peerId }]),
    );
    const refused = await refusalOf(requester().requestReport(query));
    expect(refused.reason).toBe('NOT_REGISTERED');
    expect(refused.detail).toMatch(/is not a registered node of ShanghaiBankMSP/);
  });

  it('claims no request it refuses for its consent: a replay check costs no disk write before it', async () => {
    const envelope = requester().signRequest(query);
    state.getConsent = () => Promise.resolve(undefined);
    expect((await refusalOf(requester().exchange(AGENCY, envelope))).reason).toBe('NO_CONSENT');
    // Refused before its claim, the request is new still: served once the consent is on chain, refused after.
    state.getConsent = consentById;
    expect((await requester().exchange(AGENCY, envelope)).report.records).toHaveLength(1);
    expect((await refusalOf(requester().exchange(AGENCY, envelope))).reason).toBe('REPLAY');
  });

  it(`refuses a peer's exchanges beyond ${MAX_EXCHANGES_PER_PEER} under way as UNAVAILABLE`, async () => {
    const released = Promise.withResolvers<undefined>();
    let reading = 0;
    state.latestRecords = async () => {
      reading++;
      await released.promise;
      return [RECORD];
    };
    const held = Array.from({ length: MAX_EXCHANGES_PER_PEER }, () => requester().requestReport(query));
    await vi.waitFor(
      () => {
        expect(reading).toBe(MAX_EXCHANGES_PER_PEER);
      },
      { timeout: 20_000 },
    );
    const refused = await refusalOf(requester().requestReport(query));
    expect([refused.reason, refused.detail]).toEqual([
      'UNAVAILABLE',
      `peer ${members[0]?.peerId} has ${MAX_EXCHANGES_PER_PEER} exchanges under way with ${AGENCY}: retry when one ends`,
    ]);
    released.resolve(undefined);
    await Promise.all(held);
    expect((await requester().requestReport(query)).report.records).toHaveLength(1);
  });

  it('settles once the exchanges under way have ended, their journal writes included', async () => {
    const released = Promise.withResolvers<undefined>();
    let reading = false;
    state.latestRecords = async () => {
      reading = true;
      await released.promise;
      return [RECORD];
    };
    const before = provided.length;
    const exchange = requester().requestReport(query);
    await vi.waitFor(() => {
      expect(reading).toBe(true);
    });
    let settled = false;
    const settling = provider.settled().then(() => (settled = true));
    await sleep(50);
    expect(settled).toBe(false);
    released.resolve(undefined);
    await exchange;
    await settling;
    expect(provided.length).toBe(before + 1);
  });

  it('refuses a request of a suspended institution as SUSPENDED', async () => {
    providerView.replace(snapshotOf(members.map((m) => (m.mspId === BANK ? { ...m, status: 'suspended' } : m))));
    expect((await refusalOf(requester().requestReport(query))).reason).toBe('SUSPENDED');
  });

  it.each<[string, (receipt: AccessReceipt) => Partial<Acknowledgement>, Record<string, string>]>([
    ['of another requester', () => ({ requester: AGENCY2 }), { code: 'BAD_MESSAGE', field: 'acknowledgement' }],
    ['of another request', () => ({ requestId: 'ab'.repeat(32) }), { code: 'BAD_MESSAGE', field: 'acknowledgement' }],
    [
      'of another receipt',
      () => ({ receiptDigest: Buffer.alloc(32, 1) }),
      { code: 'BAD_MESSAGE', field: 'acknowledgement.receiptDigest' },
    ],
  ])('keeps no acknowledgement %s', async (_, change, error) => {
    const { errors: seen, kept } = await acknowledgeWith(change);
    expect(kept).toBe(false);
    expect(seen).toEqual([expect.objectContaining(error)]);
  });

  it("keeps no acknowledgement whose signature is not the requester's", async () => {
    const forged = { kid: bankKey.kid, privateKey: generateTestKey().privateKey } as TestKey;
    const { errors: seen, kept } = await acknowledgeWith(() => ({}), forged);
    expect(kept).toBe(false);
    expect(seen).toEqual([expect.objectContaining({ code: 'BAD_SIGNATURE' })]);
  });

  it('keeps an acknowledgement dated between its receipt and now, and no other', async () => {
    expect(await acknowledgeWith(() => ({}))).toEqual({ errors: [], kept: true });
    for (const issuedAtMs of [
      (receipt: AccessReceipt) => receipt.issuedAtMs - MAX_CLOCK_SKEW_MS - 1,
      () => Date.now() + MAX_CLOCK_SKEW_MS + 60_000,
    ]) {
      const { errors: seen, kept } = await acknowledgeWith((receipt) => ({ issuedAtMs: issuedAtMs(receipt) }));
      expect(kept).toBe(false);
      expect(seen).toEqual([expect.objectContaining({ code: 'BAD_MESSAGE', field: 'acknowledgement.issuedAtMs' })]);
    }
  });
});

describe('the requester', () => {
  it("refuses a receipt dated beyond its own clock's skew", async () => {
    // The provider's clock runs 45 s ahead: the request is still valid there, the receipt is from the future here.
    state.now = () => Date.now() + 45_000;
    await expect(requester().requestReport(query)).rejects.toMatchObject({
      code: 'BAD_MESSAGE',
      field: 'receipt.issuedAtMs',
    });
  });

  it("refuses a receipt dated outside its request's validity, as `lianxin verify` and the audit would", async () => {
    // The second agency's receipt for the request, dated by `at` from the request.
    const receiptAt = (at: (request: AccessRequest) => number) => (envelope: SignedEnvelope) => {
      const request = decodeAccessRequest(envelope.body);
      const receipt: AccessReceipt = {
        ...request,
        requestDigest: digestOf(envelope),
        records: [],
        reportDigest: sha256(Buffer.alloc(0)),
        issuedAtMs: at(request),
      };
      return signEnvelope('access-receipt', encodeAccessReceipt(receipt), agency2Key);
    };
    // A request signed 90 s ago that expired 30 s ago: a receipt dated now is within this node's clock skew,
    // but after the request's expiry by more than the skew.
    const issuedAtMs = Date.now() - 90_000;
    const late = signEnvelope(
      'access-request',
      encodeAccessRequest({
        requestId: randomBytes(32).toString('hex'),
        requester: BANK,
        ...query,
        provider: AGENCY2,
        nonce: randomBytes(16),
        issuedAtMs,
        expiresAtMs: issuedAtMs + 60_000,
      }),
      bankKey,
    );
    for (const [envelope, at] of [
      [late, () => Date.now()],
      [requester().signRequest({ ...query, provider: AGENCY2 }), (r) => r.issuedAtMs - MAX_CLOCK_SKEW_MS - 1_000],
    ] as const satisfies readonly [SignedEnvelope, (request: AccessRequest) => number][]) {
      state.receipt = receiptAt(at);
      await expect(requester().exchange(AGENCY2, envelope)).rejects.toMatchObject({
        code: 'BAD_MESSAGE',
        field: 'receipt.issuedAtMs',
      });
    }
  });

  it('takes a refusal only when the provider it asked signed it for this request', async () => {
    const asked = { ...query, provider: AGENCY2 };
    expect((await refusalOf(requester().requestReport(asked))).reason).toBe('UNKNOWN_SUBJECT');
    const refusalBy = (change: (request: SignedEnvelope) => SignedEnvelope) => {
      state.refuse = change;
      return requester().requestReport(asked);
    };
    const reSigned = (request: SignedEnvelope, key: TestKey, fields: { provider?: string; digest?: Buffer } = {}) =>
      signEnvelope(
        'refusal',
        encodeRefusal({
          requestId: decodeAccessRequest(request.body).requestId,
          requestDigest: fields.digest ?? digestOf(request),
          provider: fields.provider ?? AGENCY2,
          reason: 'UNKNOWN_SUBJECT',
          detail: '',
          issuedAtMs: Date.now(),
        }),
        key,
      );
    // Naming another institution as its signer.
    await expect(refusalBy((r) => reSigned(r, agency2Key, { provider: AGENCY }))).rejects.toMatchObject({
      code: 'BAD_SIGNATURE',
      field: 'refusal.signature',
    });
    // Signed with a key the provider never registered, under its registered key's ID.
    const forged = { kid: agency2Key.kid, privateKey: generateTestKey().privateKey } as TestKey;
    await expect(refusalBy((r) => reSigned(r, forged))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    // Signed by a key ID the registry does not know.
    await expect(refusalBy((r) => reSigned(r, generateTestKey()))).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    // A refusal of another request.
    await expect(refusalBy((r) => reSigned(r, agency2Key, { digest: Buffer.alloc(32, 3) }))).rejects.toMatchObject({
      code: 'BAD_MESSAGE',
      field: 'refusal.requestDigest',
    });
  });
});
