/**
 * Cross-city report access over real libp2p TCP on loopback (issue 10, DESIGN §7): a Shanghai bank obtains a
 * report from the Hangzhou agency under a consent recorded on the embedded ledger, and every way the exchange
 * must refuse. The registry, consents and access receipts are the chaincode's, read and written through the
 * official client; the provider's records, log and attestations are its real parts on LevelDB
 * (node/services/test-node-parts.ts, anchored through a fake anchoring chain); the requester's view of the chain
 * index is a typed fake holding what the chain's index would say about those records.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLeaf } from '../chaincode/src/protocol.ts';
import { ChainError, LianxinChain } from '../node/ledger/index.ts';
import {
  ChainExchangeJournal,
  decodeAccessRequest,
  digestOf,
  encodeAccessRequest,
  EXCHANGE_PROTOCOL,
  loadRegistryView,
  P2pError,
  recordStoreReports,
  RegistryView,
  ReplayGuard,
  ReportProvider,
  ReportRequester,
  signEnvelope,
  startP2pHost,
  startReportExchange,
  type P2pHost,
  type ProvidedRecord,
  type ReportExchange,
  type ReportQuery,
  type ReportSource,
  verifyBundle,
} from '../node/p2p/index.ts';
import { generateTestKey, type TestKey } from '../node/receipts/test-fixtures.ts';
import { REPORT_CHUNK_BYTES } from '../node/p2p/constants.ts';
import { OBTAINED_RECORD_GRACE_MS } from '../node/p2p/exchange-journal.ts';
import { decodeFrame, encodeAccessReceipt, encodeFrame, type AccessReceipt } from '../node/p2p/exchange-messages.ts';
import { refusalOf } from '../node/p2p/test-exchange.ts';
import { verifyAttestation } from '../node/receipts/index.ts';
import { FakeIndexChain, openTestNodeParts, testUscc, type TestNodeParts } from '../node/services/test-node-parts.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256Hex } from './support/chaincode-log.ts';
import { eventually } from './support/eventually.ts';
import {
  AGENCY,
  AGENCY2,
  BANK,
  onboardConsortium,
  REGULATOR,
  startLianxinNetwork,
  type LianxinNetwork,
} from './support/chaincode-network.ts';

const DAY = 86_400_000;
const PURPOSE = 'LOAN_APPROVAL';
const iso = (ms: number) => new Date(ms).toISOString();
/** Subjects: 1 and 2 have loan records at the agency; 3 has none. */
const HELD = testUscc(1);
const REVOKED_SUBJECT = testUscc(2);
const NOT_HELD = testUscc(3);
const OTHER_GRANTEE_SUBJECT = testUscc(4);
const LAPSED_SUBJECT = testUscc(5);

interface Side extends ReportExchange {
  readonly chain: LianxinChain;
  readonly receiptKey: TestKey;
}

let net: LianxinNetwork;
let parts: TestNodeParts;
let dir: string;
let db: Level<Buffer, Buffer>;
let provider: Side;
let requesterSide: Side;
let requester: ReportRequester;
let index: FakeIndexChain;
/** What each side's onError saw: exchanges ended badly, chain calls that failed. */
const providerErrors: unknown[] = [];
const requesterErrors: unknown[] = [];
const consents = new Map<string, string>();
const hosts: P2pHost[] = [];
const cleanups: (() => Promise<void>)[] = [];

/**
 * One institution's node as the node wires it (startReportExchange): host, registry view, provider, requester
 * and journal, its node and receipt key registered on chain. The bank holds no records: its provider side answers
 * UNKNOWN_SUBJECT.
 */
async function side(
  mspId: string,
  name: string,
  receiptKey: TestKey,
  reports: ReportSource,
  errors: unknown[],
): Promise<Side> {
  const p2pKey = await generateKeyPair('Ed25519');
  const chain = new LianxinChain((await net.as(mspId)).network, 'lianxin');
  const sublevel = (label: string) =>
    db.sublevel<Buffer, Buffer>(`${label}-${name}`, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const exchange = await startReportExchange(
    {
      mspId,
      p2pKey,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      receiptKey,
      chain,
      reports,
      index,
      verifyAttestation: (bytes) => verifyAttestation(bytes, parts.bundle),
      replayDb: sublevel('replay'),
      journalDb: sublevel('journal'),
      onError: (err) => errors.push(err),
    },
    { provider: { messageTimeoutMs: 500 }, requester: { messageTimeoutMs: 2_000 } },
  );
  hosts.push(exchange.host);
  const address = exchange.host.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '';
  const admin = await net.as(mspId, 'Admin');
  await admin.submit(
    'RegisterNode',
    name,
    'localhost:7051',
    exchange.host.peerId.toString(),
    JSON.stringify([address]),
    '0',
  );
  await admin.submit('RegisterKey', receiptKey.spki, 'receipt', 'ecdsa-p256-sha256', '', '');
  return { ...exchange, chain, receiptKey };
}

async function grant(
  subject: string,
  grantee: string,
  scope: string[],
  document: string,
  window = { from: Date.now() - DAY, until: Date.now() + 30 * DAY },
): Promise<string> {
  const bank = await net.as(BANK);
  const consent = await bank.submit<{ consentId: string }>(
    'GrantConsent',
    subject,
    grantee,
    PURPOSE,
    JSON.stringify(scope),
    iso(window.from),
    iso(window.until),
    sha256Hex(document),
  );
  return consent.consentId;
}

beforeAll(async () => {
  net = await startLianxinNetwork();
  cleanups.push(() => net.close());
  await onboardConsortium(net);
  dir = await mkdtemp(join(tmpdir(), 'lianxin-p2p-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  db = new Level<Buffer, Buffer>(join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  cleanups.push(() => db.close());

  // The agency's real parts: records ingested into its log, the checkpoint anchored.
  parts = await openTestNodeParts(AGENCY, 'agency');
  cleanups.push(async () => {
    await parts[Symbol.asyncDispose]();
  });
  await parts.ingest([1, 2]);
  await parts.anchorAll();
  index = new FakeIndexChain();
  for (const subject of [HELD, REVOKED_SUBJECT]) {
    const meta = await parts.records.get(subject, 'loan');
    if (meta === undefined) throw new Error(`no record of ${subject}`);
    index.put({
      subject,
      kind: 'loan',
      version: meta.version,
      origin: parts.org.origin,
      leafIndex: meta.leafIndex,
      leafHash: Buffer.from(hashLeaf(await parts.log.leaf(meta.leafIndex))).toString('hex'),
      recordDigest: meta.digest,
      checkpointSize: 2,
      txId: 'tx',
      blockNumber: '1',
      anchoredAt: iso(Date.now()),
    });
  }

  provider = await side(
    AGENCY,
    'hangzhou0',
    parts.org.receiptKey,
    recordStoreReports({ records: parts.records, attestations: parts.builder }),
    providerErrors,
  );
  requesterSide = await side(
    BANK,
    'shanghai0',
    generateTestKey(),
    { latestRecords: () => Promise.resolve([]) },
    requesterErrors,
  );
  // Each node reads the registry again once both have registered (the node does so on its refresh timer).
  for (const s of [provider, requesterSide]) await s.refreshRegistry();
  requester = requesterSide.requester;

  consents.set('held', await grant(HELD, BANK, ['loan'], 'authorization-held'));
  consents.set('revoked', await grant(REVOKED_SUBJECT, BANK, ['loan'], 'authorization-revoked'));
  consents.set('not-held', await grant(NOT_HELD, BANK, ['loan'], 'authorization-not-held'));
  consents.set('other-grantee', await grant(OTHER_GRANTEE_SUBJECT, AGENCY2, ['loan'], 'authorization-agency2'));
  consents.set(
    'lapsed',
    await grant(LAPSED_SUBJECT, BANK, ['loan'], 'authorization-lapsed', {
      from: Date.now() - 10 * DAY,
      until: Date.now() - DAY,
    }),
  );
  await (await net.as(BANK)).submit('RevokeConsent', consents.get('revoked') ?? '');
}, 120_000);

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  // In reverse order of creation, whatever beforeAll got to.
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function newRequester(
  overrides: {
    requestLifetimeMs?: number;
    receiptKey?: TestKey;
    journal?: Pick<ChainExchangeJournal, 'obtained'>;
    host?: Pick<P2pHost, 'openStream'>;
    onError?: (err: unknown) => void;
  } = {},
): ReportRequester {
  return new ReportRequester(
    {
      mspId: BANK,
      receiptKey: overrides.receiptKey ?? requesterSide.receiptKey,
      host: overrides.host ?? requesterSide.host,
      registry: requesterSide.registry,
      verifyAttestation: (bytes) => verifyAttestation(bytes, parts.bundle),
      index,
      journal: overrides.journal ?? requesterSide.journal,
    },
    {
      messageTimeoutMs: 2_000,
      ...(overrides.requestLifetimeMs ? { requestLifetimeMs: overrides.requestLifetimeMs } : {}),
      ...(overrides.onError ? { onError: overrides.onError } : {}),
    },
  );
}

const query = (overrides: Partial<ReportQuery> = {}): ReportQuery => ({
  provider: AGENCY,
  subject: HELD,
  kinds: ['loan'],
  purpose: PURPOSE,
  consentId: consents.get('held') ?? '',
  ...overrides,
});

describe('the report exchange between a Shanghai bank and the Hangzhou agency', () => {
  it('delivers the latest record with a receipt both sides keep, acknowledged and recorded on chain', async () => {
    const obtained = await requester.requestReport(query());
    expect(obtained.status).toBe('ACCEPTED');
    expect(obtained.disputeReason).toBe('');
    const meta = await parts.records.get(HELD, 'loan');
    const content = meta && (await parts.records.content(meta));
    expect(obtained.report.records).toHaveLength(1);
    expect(Buffer.from(obtained.report.records[0]?.content ?? []).equals(content ?? Buffer.alloc(1))).toBe(true);
    expect(obtained.bundle.decoded.receipt).toMatchObject({
      provider: AGENCY,
      requester: BANK,
      subject: HELD,
      purpose: PURPOSE,
    });

    const digest = digestOf(obtained.bundle.receipt).toString('hex');
    // The provider kept the bundle before sending the receipt, and adds the acknowledgement once it has read it.
    const kept = await eventually(async () => {
      const bundle = await provider.journal.bundle(digest);
      return bundle?.acknowledgement === undefined ? undefined : bundle;
    });
    expect(kept.decoded.acknowledgement?.status).toBe('ACCEPTED');
    expect((await requesterSide.journal.bundle(digest))?.decoded.receipt.requestId).toBe(
      obtained.bundle.decoded.request.requestId,
    );
    const regulator = await net.as(REGULATOR);
    const onChain = await eventually(() => regulator.evaluate('GetAccessReceipt', digest).catch(() => undefined), {
      what: 'the receipt on chain',
    });
    expect([...providerErrors, ...requesterErrors].filter((err) => err instanceof ChainError)).toEqual([]);
    expect(onChain).toMatchObject({
      receiptDigest: digest,
      requester: BANK,
      provider: AGENCY,
      subject: HELD,
      purpose: PURPOSE,
      consentId: consents.get('held'),
    });
  });

  it('refuses a request whose signature is forged', async () => {
    const forger = generateTestKey();
    const honest = requester.signRequest(query());
    const forged = signEnvelope('access-request', honest.body, {
      kid: requesterSide.receiptKey.kid,
      privateKey: forger.privateKey,
    });
    expect((await refusalOf(requester.exchange(AGENCY, forged))).reason).toBe('BAD_SIGNATURE');
    // A key the requester never registered is no better.
    const unregistered = newRequester({ receiptKey: forger });
    expect((await refusalOf(unregistered.requestReport(query()))).reason).toBe('BAD_SIGNATURE');
  });

  it('refuses an expired request', async () => {
    const shortLived = newRequester({ requestLifetimeMs: 100 });
    const envelope = shortLived.signRequest(query());
    await sleep(200);
    expect((await refusalOf(shortLived.exchange(AGENCY, envelope))).reason).toBe('EXPIRED_REQUEST');
  });

  it('refuses a replayed request', async () => {
    const envelope = requester.signRequest(query());
    expect((await requester.exchange(AGENCY, envelope)).status).toBe('ACCEPTED');
    expect((await refusalOf(requester.exchange(AGENCY, envelope))).reason).toBe('REPLAY');
    // The same nonce under a new request ID is a replay too.
    const first = decodeAccessRequest(envelope.body);
    const renamed = signEnvelope(
      'access-request',
      encodeAccessRequest({ ...first, requestId: 'ab'.repeat(32) }),
      requesterSide.receiptKey,
    );
    expect((await refusalOf(requester.exchange(AGENCY, renamed))).reason).toBe('REPLAY');
  });

  it('refuses without a consent valid for this grantee, purpose and kind now', async () => {
    expect(
      (
        await refusalOf(
          requester.requestReport(query({ subject: LAPSED_SUBJECT, consentId: consents.get('lapsed') ?? '' })),
        )
      ).reason,
    ).toBe('CONSENT_EXPIRED');
    expect(
      (
        await refusalOf(
          requester.requestReport(query({ subject: REVOKED_SUBJECT, consentId: consents.get('revoked') ?? '' })),
        )
      ).reason,
    ).toBe('CONSENT_REVOKED');
    expect((await refusalOf(requester.requestReport(query({ purpose: 'MARKETING' })))).reason).toBe('PURPOSE_MISMATCH');
    expect((await refusalOf(requester.requestReport(query({ kinds: ['loan', 'tax'] })))).reason).toBe(
      'KIND_NOT_COVERED',
    );
    expect(
      (
        await refusalOf(
          requester.requestReport(
            query({ subject: OTHER_GRANTEE_SUBJECT, consentId: consents.get('other-grantee') ?? '' }),
          ),
        )
      ).reason,
    ).toBe('NO_CONSENT');
    expect((await refusalOf(requester.requestReport(query({ consentId: 'f'.repeat(64) })))).reason).toBe('NO_CONSENT');
    // Another subject's consent does not stretch to this one.
    expect(
      (await refusalOf(requester.requestReport(query({ consentId: consents.get('not-held') ?? '' })))).reason,
    ).toBe('NO_CONSENT');
  });

  it('reads a consent from the chain once, then refuses it as soon as the revoking block reached the provider', async () => {
    const consentId = await grant(HELD, BANK, ['loan'], 'authorization-held-then-revoked');
    // The grant's own event drops a consent the view kept before it arrived (the read may predate it), so a
    // provider that receives that block after the first exchange reads the chain twice: count from that block on.
    await eventually(() => Promise.resolve(provider.consents.lastChange?.consentId === consentId ? true : undefined), {
      what: 'the granting block at the provider',
    });
    const readsBefore = provider.consents.chainReads;
    for (let i = 0; i < 3; i++) {
      expect((await requester.requestReport(query({ consentId }))).status).toBe('ACCEPTED');
    }
    // Three exchanges, one chain read: the other two were answered from the view.
    expect(provider.consents.chainReads - readsBefore).toBe(1);

    const revoked = await requesterSide.chain.revokeConsent(consentId);
    await eventually(
      () =>
        Promise.resolve((provider.consents.lastChange?.blockNumber ?? -1n) >= revoked.blockNumber ? true : undefined),
      { what: 'the revoking block at the provider' },
    );
    expect((await refusalOf(requester.requestReport(query({ consentId })))).reason).toBe('CONSENT_REVOKED');
  });

  it("reads no record for an exchange whose bound ended (the provider's records, as the node wires them)", async () => {
    const reports = recordStoreReports({ records: parts.records, attestations: parts.builder });
    await expect(reports.latestRecords(HELD, ['loan'], { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(await reports.latestRecords(HELD, ['loan'])).toHaveLength(1);
  });

  it('refuses a subject the provider holds no record of', async () => {
    expect(
      (
        await refusalOf(
          requester.requestReport(query({ subject: NOT_HELD, consentId: consents.get('not-held') ?? '' })),
        )
      ).reason,
    ).toBe('UNKNOWN_SUBJECT');
  });

  it('refuses a request addressed to another provider', async () => {
    const envelope = requester.signRequest(query({ provider: AGENCY2 }));
    expect((await refusalOf(requester.exchange(AGENCY, envelope))).reason).toBe('BAD_REQUEST');
  });

  it('does not let an unregistered peer connect', async () => {
    const privateKey = await generateKeyPair('Ed25519');
    // The intruder's own view admits everyone it knows, itself included: only the agency's gater keeps it out.
    const view = new RegistryView(await requesterSide.chain.registrySnapshot());
    const intruder = await startP2pHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry: view });
    hosts.push(intruder);
    const snapshot = await requesterSide.chain.registrySnapshot();
    view.replace({
      ...snapshot,
      nodes: [
        ...snapshot.nodes,
        { ...(snapshot.nodes[0] ?? ({} as never)), mspId: BANK, peerId: intruder.peerId.toString() },
      ],
    });
    await expect(intruder.openStream(AGENCY, EXCHANGE_PROTOCOL)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('cuts an oversize message and a peer that stops mid-stream, and keeps serving', async () => {
    const errorsBefore = providerErrors.length;
    const oversize = lpStream(await requesterSide.host.openStream(AGENCY, EXCHANGE_PROTOCOL), {
      maxDataLength: 4 * 1024 * 1024,
    });
    await oversize.write(Buffer.alloc(2 * 1024 * 1024, 1));
    await expect(oversize.read({ signal: AbortSignal.timeout(5_000) })).rejects.toThrow();

    const silent = lpStream(await requesterSide.host.openStream(AGENCY, EXCHANGE_PROTOCOL));
    const started = Date.now();
    await expect(silent.read({ signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
    // The provider's bound (500 ms here), not the reader's own 5 s timeout, ended it.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(providerErrors.length).toBeGreaterThanOrEqual(errorsBefore + 2);

    expect((await requester.requestReport(query())).status).toBe('ACCEPTED');
  });

  it('sends no acknowledgement of a bundle it could not keep: the access stays unacknowledged', async () => {
    // The requester's store is closed: the bundle cannot be kept.
    const closed = new Level<Buffer, Buffer>(join(dir, 'closed'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await closed.open();
    await closed.close();
    const unkept = newRequester({
      journal: new ChainExchangeJournal({
        db: closed.sublevel<Buffer, Buffer>('journal', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
        chain: requesterSide.chain,
      }),
    });
    const providerJournal = db.sublevel<Buffer, Buffer>('journal-hangzhou0', {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    const provided = async () => {
      const digests: string[] = [];
      for await (const k of providerJournal.keys({ gte: Buffer.from('p/'), lt: Buffer.from('p0') })) {
        digests.push(k.toString('utf8').slice(2));
      }
      return digests;
    };
    const before = new Set(await provided());
    const errorsBefore = providerErrors.length;
    const failed = await unkept.requestReport(query()).catch((err: unknown) => err);
    // Served, not kept: a typed error naming the receipt, with no retry hint (a retry is a second access).
    expect(failed).toMatchObject({ code: 'FAILED_PRECONDITION', cause: { code: 'LEVEL_DATABASE_NOT_OPEN' } });
    expect((failed as { retryAfterMs?: number }).retryAfterMs).toBeUndefined();
    // The provider waited for an acknowledgement that never came, and says so.
    await eventually(() => Promise.resolve(providerErrors.length > errorsBefore ? true : undefined), {
      what: "the provider's missing acknowledgement",
    });
    const [digest, ...more] = (await provided()).filter((d) => !before.has(d));
    expect(more).toEqual([]);
    expect((failed as Error).message).toContain(`receipt ${digest ?? ''}`);
    const kept = await provider.journal.bundle(digest ?? '');
    expect(kept?.decoded.receipt.subject).toBe(HELD);
    expect(kept?.acknowledgement).toBeUndefined();
  });

  it('returns a kept exchange whose acknowledgement could not be sent, and reports the failure', async () => {
    const errors: unknown[] = [];
    let opened: Stream | undefined;
    // The stream is reset the moment the bundle is kept, before the acknowledgement is written.
    const host = {
      openStream: async (...args: Parameters<P2pHost['openStream']>) => {
        opened = await requesterSide.host.openStream(...args);
        return opened;
      },
    };
    const journal = {
      obtained: async (bundle: Parameters<ChainExchangeJournal['obtained']>[0]) => {
        await requesterSide.journal.obtained(bundle);
        opened?.abort(new Error('connection reset'));
      },
    };
    const obtained = await newRequester({ host, journal, onError: (err) => errors.push(err) }).requestReport(query());
    expect(obtained.status).toBe('ACCEPTED');
    const digest = digestOf(obtained.bundle.receipt).toString('hex');
    expect((await requesterSide.journal.bundle(digest))?.acknowledgement).toBeDefined();
    expect(errors).toEqual([expect.objectContaining({ name: 'P2pError', code: 'UNAVAILABLE' })]);
  });

  it('reports a request it could not send as UNAVAILABLE', async () => {
    // The stream is reset as soon as it is open, before the request is written.
    const host = {
      openStream: async (...args: Parameters<P2pHost['openStream']>) => {
        const stream = await requesterSide.host.openStream(...args);
        stream.abort(new Error('connection reset'));
        return stream;
      },
    };
    await expect(newRequester({ host }).requestReport(query())).rejects.toMatchObject({
      name: 'P2pError',
      code: 'UNAVAILABLE',
    });
  });

  it('disputes a report that does not match the chain index, and the dispute is what gets kept', async () => {
    const row = await index.getIndexRecord(HELD, 'loan');
    if (row === undefined) throw new Error('no index row');
    index.put({ ...row, recordDigest: 'e'.repeat(64) });
    try {
      const obtained = await requester.requestReport(query());
      expect(obtained.status).toBe('DISPUTED');
      expect(obtained.disputeReason).toMatch(/chain index/);
      const digest = digestOf(obtained.bundle.receipt).toString('hex');
      const kept = await eventually(async () => (await provider.journal.bundle(digest))?.decoded.acknowledgement);
      expect(kept).toMatchObject({ status: 'DISPUTED' });
    } finally {
      index.put(row);
    }
  });
});

describe('a provider that lies about the records it sends (its receipt signed over what it sends)', () => {
  const LIAR = '/lianxin-test/liar/1.0.0';
  let doctor = (records: ProvidedRecord[]): Promise<ProvidedRecord[]> => Promise.resolve(records);
  let liar: ReportRequester;
  const honest = () => recordStoreReports({ records: parts.records, attestations: parts.builder });

  beforeAll(async () => {
    // The agency's own node, key and attestations, serving the doctored records on a protocol of its own.
    const lying = new ReportProvider({
      mspId: AGENCY,
      receiptKey: parts.org.receiptKey,
      registry: provider.registry,
      consents: provider.consents,
      reports: {
        latestRecords: async (subject, kinds, options) => doctor(await honest().latestRecords(subject, kinds, options)),
      },
      replay: { claim: () => Promise.resolve(true) },
      journal: { provided: () => Promise.resolve(), acknowledged: () => Promise.resolve() },
    });
    await provider.host.handle(LIAR, lying.handler);
    liar = newRequester({
      host: { openStream: (mspId, _protocol, options) => requesterSide.host.openStream(mspId, LIAR, options) },
    });
    consents.set('loan-and-tax', await grant(HELD, BANK, ['loan', 'tax'], 'authorization-loan-and-tax'));
  });

  const relabel = (change: (r: ProvidedRecord) => ProvidedRecord) => (records: ProvidedRecord[]) =>
    Promise.resolve(records.map(change));
  const cases: [string, (records: ProvidedRecord[]) => Promise<ProvidedRecord[]>, RegExp, Partial<ReportQuery>?][] = [
    [
      "another subject's record",
      () => honest().latestRecords(REVOKED_SUBJECT, ['loan']),
      /the attested leaf is of another subject, kind or version/,
    ],
    [
      'a later version than the attested leaf',
      relabel((r) => ({ ...r, record: { ...r.record, version: r.record.version + 1 } })),
      /the attested leaf is of another subject, kind or version/,
    ],
    [
      'the record under another kind asked for',
      relabel((r) => ({ ...r, record: { ...r.record, kind: 'tax' } })),
      /the attested leaf is of another subject, kind or version/,
      { kinds: ['loan', 'tax'], consentId: 'loan-and-tax' },
    ],
    [
      'content other than the attested leaf',
      relabel((r) => ({ ...r, record: { ...r.record, content: Buffer.from('{"balance":0}') } })),
      /content does not match the attested leaf/,
    ],
    [
      'another leaf hash in its receipt',
      relabel((r) => ({ ...r, leafHash: Buffer.alloc(32, 9) })),
      /the receipt's leaf hash is not the attested leaf/,
    ],
  ];

  it('is accepted while it tells the truth', async () => {
    doctor = (records) => Promise.resolve(records);
    expect((await liar.requestReport(query())).status).toBe('ACCEPTED');
  });

  it('that never records its receipt on chain still has it found there: the requester records it', async () => {
    doctor = (records) => Promise.resolve(records);
    const obtained = await liar.requestReport(query());
    const digest = digestOf(obtained.bundle.receipt).toString('hex');
    const regulator = await net.as(REGULATOR);
    await expect(regulator.evaluate('GetAccessReceipt', digest)).rejects.toThrow(/RECEIPT_NOT_FOUND/);
    // The requester's upkeep pass (its journal's start) leaves it to the provider for a grace period…
    await requesterSide.journal.start();
    await requesterSide.journal.settled();
    await expect(regulator.evaluate('GetAccessReceipt', digest)).rejects.toThrow(/RECEIPT_NOT_FOUND/);
    // …after which it asks the chain, which does not hold it, and records it.
    const later = new ChainExchangeJournal({
      db: db.sublevel<Buffer, Buffer>('journal-shanghai0', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
      chain: requesterSide.chain,
      now: () => Date.now() + OBTAINED_RECORD_GRACE_MS,
    });
    await later.start();
    await later.settled();
    expect(await regulator.evaluate('GetAccessReceipt', digest)).toMatchObject({
      receiptDigest: digest,
      recordedBy: BANK,
    });
  });

  it("is disputed for leaving out a kind the chain index has in the provider's log", async () => {
    doctor = (records) => Promise.resolve(records);
    const loan = await index.getIndexRecord(HELD, 'loan');
    if (loan === undefined) throw new Error('no index row');
    const tax = { ...loan, kind: 'tax', leafIndex: loan.leafIndex + 1 };
    index.put(tax);
    try {
      const obtained = await liar.requestReport(
        query({ kinds: ['loan', 'tax'], consentId: consents.get('loan-and-tax') ?? '' }),
      );
      expect(obtained.status).toBe('DISPUTED');
      expect(obtained.disputeReason).toMatch(/kind tax: left out, though the chain index has version/);
    } finally {
      index.rows.delete(`${HELD}\u0000tax`);
    }
    // A kind anchored by nobody, or in another institution's log, is not this provider's to send.
    const loanAndTax = query({ kinds: ['loan', 'tax'], consentId: consents.get('loan-and-tax') ?? '' });
    expect((await liar.requestReport(loanAndTax)).status).toBe('ACCEPTED');
    index.put({ ...tax, origin: `lianxin/${AGENCY2}/main` });
    try {
      expect((await liar.requestReport(loanAndTax)).status).toBe('ACCEPTED');
    } finally {
      index.rows.delete(`${HELD}\u0000tax`);
    }
  });

  it('is not disputed for a kind or a version anchored after it read its records', async () => {
    const loan = await index.getIndexRecord(HELD, 'loan');
    if (loan === undefined) throw new Error('no index row');
    // Anchored while the report streams: a first tax record, and a later loan version, in the provider's log.
    doctor = (records) => {
      index.put({ ...loan, kind: 'tax', leafIndex: loan.leafIndex + 1 });
      index.put({ ...loan, version: loan.version + 1, leafIndex: loan.leafIndex + 2, recordDigest: 'f'.repeat(64) });
      return Promise.resolve(records);
    };
    try {
      const obtained = await liar.requestReport(
        query({ kinds: ['loan', 'tax'], consentId: consents.get('loan-and-tax') ?? '' }),
      );
      expect(obtained.disputeReason).toBe('');
      expect(obtained.status).toBe('ACCEPTED');
    } finally {
      index.rows.delete(`${HELD}\u0000tax`);
      index.put(loan);
    }
  });

  it.each([
    [
      'a kind that was not asked for',
      relabel((r) => ({ ...r, record: { ...r.record, kind: 'tax' } })),
      0,
      'tax, not requested',
    ],
    ['one kind twice', (records: ProvidedRecord[]) => Promise.resolve([...records, ...records]), 1, 'loan twice'],
  ])('is disputed for a receipt stating %s, which is kept: the disclosure is evidence', async (_, lie, at, reason) => {
    doctor = lie;
    const obtained = await liar.requestReport(query());
    const field = `receipt.records[${at}].kind`;
    expect(obtained.status).toBe('DISPUTED');
    expect(obtained.disputeReason).toMatch(`${field}: the receipt states `);
    expect(obtained.disputeReason).toMatch(reason);
    const kept = await requesterSide.journal.bundle(digestOf(obtained.bundle.receipt).toString('hex'));
    if (kept === undefined) throw new Error('the disputed bundle was not kept');
    expect(kept.decoded.acknowledgement).toMatchObject({ status: 'DISPUTED' });
    // What `receipt verify` and the audit make of it.
    expect(verifyBundle(kept, requesterSide.registry)).toMatchObject({ ok: false, code: 'BUNDLE_INCONSISTENT', field });
  });

  it.each(cases)('is disputed for %s', async (_, lie, reason, overrides = {}) => {
    doctor = lie;
    const consentId = overrides.consentId === undefined ? undefined : consents.get(overrides.consentId);
    const obtained = await liar.requestReport(query({ ...overrides, ...(consentId ? { consentId } : {}) }));
    expect(obtained.status).toBe('DISPUTED');
    expect(obtained.disputeReason).toMatch(reason);
  });
});

describe('a provider that sends more report records than its receipt states', () => {
  it('is disputed before the report is decoded', async () => {
    const FLOOD = '/lianxin-test/flood/1.0.0';
    // One million empty Report.records entries (2 bytes each on the wire): each would be an object if decoded.
    const report = Buffer.alloc(2_000_000);
    for (let at = 0; at < report.length; at += 2) report[at] = 0x12;
    await provider.host.handle(FLOOD, (stream) => {
      const lp = lpStream(stream, { maxDataLength: 1024 * 1024 });
      void (async () => {
        const first = decodeFrame((await lp.read()).subarray());
        if (first.kind !== 'request') throw new Error(`a ${first.kind} frame first`);
        const request = decodeAccessRequest(first.envelope.body);
        const receipt: AccessReceipt = {
          ...request,
          requestDigest: digestOf(first.envelope),
          records: [],
          reportDigest: createHash('sha256').update(report).digest(),
          issuedAtMs: Date.now(),
        };
        const body = encodeAccessReceipt(receipt);
        for (let at = 0; at < report.length; at += REPORT_CHUNK_BYTES) {
          await lp.write(encodeFrame({ kind: 'chunk', data: report.subarray(at, at + REPORT_CHUNK_BYTES) }));
        }
        await lp.write(
          encodeFrame({ kind: 'receipt', envelope: signEnvelope('access-receipt', body, parts.org.receiptKey) }),
        );
        await lp.read();
        await stream.close();
      })().catch((err: unknown) => {
        stream.abort(err as Error);
      });
    });
    const flooded = newRequester({
      host: { openStream: (mspId, _protocol, options) => requesterSide.host.openStream(mspId, FLOOD, options) },
    });
    const obtained = await flooded.requestReport(query());
    expect(obtained.status).toBe('DISPUTED');
    expect(obtained.disputeReason).toBe('"report.records" must have at most 0 entries');
  });
});

describe('a provider that stops mid-stream', () => {
  it("is cut by the requester with TIMEOUT, by the caller's cancel with UNAVAILABLE", async () => {
    const privateKey = await generateKeyPair('Ed25519');
    const registry = new RegistryView(await requesterSide.chain.registrySnapshot());
    const silent = await startP2pHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry });
    hosts.push(silent);
    // Registered for another agency, it accepts the exchange's stream and never answers.
    const admin = await net.as(AGENCY2, 'Admin');
    const address = silent.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '';
    await admin.submit(
      'RegisterNode',
      'hefei0',
      'localhost:7051',
      silent.peerId.toString(),
      JSON.stringify([address]),
      '0',
    );
    await silent.handle(EXCHANGE_PROTOCOL, () => undefined);
    registry.replace(await requesterSide.chain.registrySnapshot());
    requesterSide.registry.replace(await requesterSide.chain.registrySnapshot());
    const quick = new ReportRequester(
      {
        mspId: BANK,
        receiptKey: requesterSide.receiptKey,
        host: requesterSide.host,
        registry: requesterSide.registry,
        verifyAttestation: (bytes) => verifyAttestation(bytes, parts.bundle),
        index,
        journal: requesterSide.journal,
      },
      { messageTimeoutMs: 300 },
    );
    const err = await quick.requestReport(query({ provider: AGENCY2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(P2pError);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    // Cancelled while it waits for the report: not a timeout, whatever error the stream's read throws.
    const cancel = new AbortController();
    setTimeout(() => {
      cancel.abort();
    }, 300);
    const cancelled = await requesterSide.requester
      .requestReport(query({ provider: AGENCY2 }), { signal: cancel.signal })
      .catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(P2pError);
    expect(cancelled).toMatchObject({ code: 'UNAVAILABLE' });
    expect((cancelled as P2pError).message).toContain('stopped mid-exchange');
  });
});

it("drops the replay memory's long-expired claims at the upkeep's pace", async () => {
  const replayDb = db.sublevel<Buffer, Buffer>('replay-upkeep', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  // A request that expired an hour ago, claimed in an earlier life of the node.
  expect(await new ReplayGuard(replayDb).claim('ab'.repeat(32), randomBytes(16), Date.now() - 3_600_000)).toBe(true);
  const exchange = await startReportExchange(
    {
      mspId: BANK,
      p2pKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      receiptKey: requesterSide.receiptKey,
      chain: requesterSide.chain,
      reports: { latestRecords: () => Promise.resolve([]) },
      index,
      verifyAttestation: (bytes) => verifyAttestation(bytes, parts.bundle),
      replayDb,
      journalDb: db.sublevel<Buffer, Buffer>('journal-upkeep', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
    },
    { registryRefreshMs: 50 },
  );
  try {
    const claims = async () => {
      let count = 0;
      for await (const _ of replayDb.keys()) count++;
      return count;
    };
    expect(await claims()).toBe(2);
    await eventually(async () => ((await claims()) === 0 ? true : undefined), { what: 'the pruned claims' });
  } finally {
    await exchange.stop();
  }
});

// Keep the shape check honest: loadRegistryView is the node's way in.
it('reads the registry from the chain', async () => {
  const view = await loadRegistryView(requesterSide.chain);
  expect(view.peersOf(AGENCY).map((p) => p.peerId)).toEqual([provider.host.peerId.toString()]);
});
