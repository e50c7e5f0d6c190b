/**
 * The audit's verdicts from typed fakes of the chain, the nodes' bundle fetch either a typed fake or real libp2p
 * hosts on loopback serving journals on LevelDB (the process test in test/regulator-audit-processes.test.ts runs
 * every part real): which copy is checked, what each case yields, and which node counts as heard.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import type { Consent } from '../../chaincode/src/protocol.ts';
import type { AccessReceipt as ChainReceipt } from '../ledger/index.ts';
import { encodeAcknowledgement, type SignedEnvelope } from '../p2p/exchange-messages.ts';
import type { ExchangeBundle } from '../p2p/exchange-ports.ts';
import {
  AUDIT_PROTOCOL,
  bundleServer,
  digestOf,
  fetchBundles,
  P2pError,
  RegistryView,
  signEnvelope,
  startP2pHost,
  type BundleFetchTimeouts,
  type FetchedBundle,
  type P2pHost,
} from '../p2p/index.ts';
import { journalOffChain, signedExchange } from '../p2p/test-exchange.ts';
import { snapshotOf, newReceiptKey, spkiOf, testPeer, type SnapshotMember } from '../p2p/test-registry.ts';
import { testUscc } from '../services/test-node-parts.ts';
import { auditAccesses, type AccessAuditComponents } from './access-audit.ts';

const BANK = 'ShanghaiBankMSP';
const AGENCY = 'HangzhouCreditMSP';
const SUBJECT = testUscc(9);
const CONSENT = 'c'.repeat(64);
const AT = Date.parse('2026-12-05T12:00:00Z');
const DAY = 86_400_000;

const bankKey = newReceiptKey();
const agencyKey = newReceiptKey();
const registry = new RegistryView(
  snapshotOf([
    { mspId: BANK, peerId: 'p1', receiptKeys: [{ spki: spkiOf(bankKey), kid: bankKey.kid }] },
    { mspId: AGENCY, peerId: 'p2', role: 'agency', receiptKeys: [{ spki: spkiOf(agencyKey), kid: agencyKey.kid }] },
  ]),
);

/** One access: its bundle as both nodes keep it (with and without the acknowledgement) and the chain's record. */
function access(kinds: string[], at = AT) {
  const exchange = signedExchange(
    { mspId: BANK, receiptKey: bankKey },
    { mspId: AGENCY, receiptKey: agencyKey },
    {
      at,
      request: { subject: SUBJECT, kinds, consentId: CONSENT },
      receipt: { records: [], issuedAtMs: at + 10 },
      acknowledgement: { issuedAtMs: at + 20 },
    },
  );
  const { request: requestEnvelope, receipt: receiptEnvelope, acknowledgement: ack } = exchange;
  const receiptDigest = digestOf(receiptEnvelope).toString('hex');
  const onChain: ChainReceipt = {
    receiptDigest,
    requester: BANK,
    provider: AGENCY,
    subject: SUBJECT,
    purpose: 'LOAN_APPROVAL',
    consentId: CONSENT,
    accessedAt: new Date(at + 10).toISOString(),
    recordedBy: AGENCY,
    recordedAt: new Date(at + 50).toISOString(),
    txId: 'f'.repeat(64),
  };
  const stored = (acknowledged: boolean): FetchedBundle => ({
    receiptDigest,
    found: true,
    request: requestEnvelope,
    receipt: receiptEnvelope,
    acknowledgement: acknowledged ? ack : undefined,
  });
  const decodedAck = exchange.decoded.acknowledgement;
  if (decodedAck === undefined || ack === undefined) throw new Error('the exchange has an acknowledgement');
  const dispute = { ...decodedAck, status: 'DISPUTED', disputeReason: 'record 0 (loan): not the chain index' } as const;
  const disputeBody = encodeAcknowledgement(dispute);
  const withAck = (acknowledgement: SignedEnvelope): FetchedBundle => ({
    receiptDigest,
    found: true,
    request: requestEnvelope,
    receipt: receiptEnvelope,
    acknowledgement,
  });
  const disputeAck = signEnvelope('acknowledgement', disputeBody, bankKey);
  /** The copy with the requester's dispute of the same receipt instead of its acceptance. */
  const disputed = withAck(disputeAck);
  /** A copy whose acknowledgement was edited after the requester signed it: the dispute under the acceptance's signature. */
  const forged = withAck({ ...ack, body: disputeBody });
  /** The two sides' copies as their journals keep them: the provider's unacknowledged, the requester's disputed. */
  const journaled: { provider: ExchangeBundle; requester: ExchangeBundle } = {
    provider: { ...exchange, acknowledgement: undefined, decoded: { ...exchange.decoded, acknowledgement: undefined } },
    requester: {
      ...exchange,
      acknowledgement: disputeAck,
      decoded: { ...exchange.decoded, acknowledgement: dispute },
    },
  };
  return { onChain, stored, disputed, forged, journaled, receiptDigest };
}

const consent: Consent = {
  consentId: CONSENT,
  subject: SUBJECT,
  grantee: BANK,
  purpose: 'LOAN_APPROVAL',
  scope: ['loan'],
  validFrom: new Date(AT - DAY).toISOString(),
  validUntil: new Date(AT + DAY).toISOString(),
  authorizationDigest: 'a'.repeat(64),
  recordedBy: BANK,
  status: 'active',
  grantedAt: new Date(AT - DAY).toISOString(),
  revokedAt: null,
  revokedBy: null,
  txId: 'e'.repeat(64),
};

/** Fakes of the chain and of each node's journal, as `bundles[msp][digest]`; a node in `down` does not answer. */
function components(
  receipts: readonly ChainReceipt[],
  bundles: Record<string, Record<string, FetchedBundle>>,
  down: readonly string[] = [],
): AccessAuditComponents {
  return {
    chain: {
      listAccessReceipts: (by, value) =>
        Promise.resolve(receipts.filter((r) => by === 'time' || (by === 'subject' ? r.subject : r[by]) === value)),
      getConsent: (id) => Promise.resolve(id === CONSENT ? consent : undefined),
    },
    keys: registry,
    fetchBundles: (mspId, digests) => {
      if (down.includes(mspId)) return Promise.reject(new P2pError('UNAVAILABLE', `${mspId} is down`));
      return Promise.resolve(digests.map((d) => bundles[mspId]?.[d] ?? { receiptDigest: d, found: false }));
    },
  };
}

/**
 * `base`'s nodes as fetchBundles over a real host meets them: asked with a stopped signal, a node fails at once; a
 * node for which `held` gives a promise answers once it settles, or fails when the signal stops the fetch.
 */
function paced(base: AccessAuditComponents, held: (mspId: string) => Promise<void> | undefined): AccessAuditComponents {
  return {
    ...base,
    fetchBundles: async (mspId, digests, options) => {
      const { signal } = options;
      if (signal?.aborted === true) throw new P2pError('TIMEOUT', `${mspId}: the fetch was stopped`);
      const hold = held(mspId);
      if (hold !== undefined) {
        await new Promise<void>((resolve, reject) => {
          void hold.then(resolve);
          signal?.addEventListener('abort', () => {
            reject(new P2pError('TIMEOUT', `${mspId} did not answer the bundle fetch`));
          });
        });
      }
      return base.fetchBundles(mspId, digests, options);
    },
  };
}

/** The audit of access `a` alone, with the copy each node gives (none from a node not named). */
async function auditCopies(
  a: { readonly onChain: ChainReceipt; readonly receiptDigest: string },
  copies: { readonly provider?: FetchedBundle; readonly requester?: FetchedBundle },
) {
  const bundles: Record<string, Record<string, FetchedBundle>> = {};
  if (copies.provider !== undefined) bundles[AGENCY] = { [a.receiptDigest]: copies.provider };
  if (copies.requester !== undefined) bundles[BANK] = { [a.receiptDigest]: copies.requester };
  const [audited, ...more] = await auditAccesses(components([a.onChain], bundles), {});
  if (audited === undefined || more.length > 0) throw new Error('expected one access audited');
  return audited;
}

describe('auditAccesses', () => {
  it('gives OK to a consented, acknowledged access and NO_VALID_CONSENT to one asking for an unconsented kind', async () => {
    const clean = access(['loan']);
    const unconsented = access(['tax'], AT + 1000);
    const audited = await auditAccesses(
      components([unconsented.onChain, clean.onChain], {
        [AGENCY]: { [clean.receiptDigest]: clean.stored(true), [unconsented.receiptDigest]: unconsented.stored(true) },
      }),
      { subject: SUBJECT },
    );
    expect(audited.map((a) => [a.receipt.receiptDigest, a.verdict])).toEqual([
      [clean.receiptDigest, 'OK'],
      [unconsented.receiptDigest, 'NO_VALID_CONSENT'],
    ]);
  });

  it("prefers the requester's acknowledged copy to the provider's unacknowledged one", async () => {
    const a = access(['loan']);
    const audited = await auditAccesses(
      components([a.onChain], {
        [AGENCY]: { [a.receiptDigest]: a.stored(false) },
        [BANK]: { [a.receiptDigest]: a.stored(true) },
      }),
      { institution: AGENCY },
    );
    expect(audited).toMatchObject([{ verdict: 'OK', bundleFrom: BANK }]);
    const onlyProvider = await auditAccesses(
      components([a.onChain], { [AGENCY]: { [a.receiptDigest]: a.stored(false) } }, [BANK]),
      { institution: AGENCY },
    );
    // The bank not heard, its copy may hold the acknowledgement: no verdict says the bank never gave one.
    expect(onlyProvider).toMatchObject([{ verdict: 'NOT_HEARD', bundleFrom: AGENCY }]);
    expect(onlyProvider[0]?.findings).toEqual([
      { code: 'NOT_HEARD', reason: `${BANK} was not heard: ${BANK} is down; judged by ${AGENCY}'s copy alone` },
      { code: 'NO_ACKNOWLEDGEMENT', reason: `${AGENCY}'s copy holds no acknowledgement` },
    ]);
  });

  it('gives the verdict a copy heard proves though the other side was not heard, naming that side', async () => {
    const a = access(['tax']);
    const [audited] = await auditAccesses(
      components([a.onChain], { [AGENCY]: { [a.receiptDigest]: a.stored(false) } }, [BANK]),
      {},
    );
    expect(audited).toMatchObject({ verdict: 'NO_VALID_CONSENT', bundleFrom: AGENCY });
    expect(audited?.findings.map((f) => f.code)).toEqual(['NO_VALID_CONSENT', 'NO_ACKNOWLEDGEMENT', 'NOT_HEARD']);
    expect(audited?.findings[2]?.reason).toBe(
      `${BANK} was not heard: ${BANK} is down; judged by ${AGENCY}'s copy alone`,
    );
  });

  it("finds the requester's dispute though the provider's copy has no acknowledgement", async () => {
    const a = access(['loan']);
    const audited = await auditCopies(a, { provider: a.stored(false), requester: a.disputed });
    expect(audited).toMatchObject({ verdict: 'DISPUTED', bundleFrom: BANK });
    expect(audited.findings).toHaveLength(1);
  });

  it('finds DISPUTED and reports both when the two sides hold different acknowledgements of the receipt', async () => {
    const a = access(['loan']);
    const audited = await auditCopies(a, { provider: a.stored(true), requester: a.disputed });
    expect(audited).toMatchObject({ verdict: 'DISPUTED', bundleFrom: BANK });
    expect(audited.findings[1]).toMatchObject({ code: 'BUNDLE_INCONSISTENT', field: 'acknowledgement' });
    expect(audited.findings[1]?.reason).toMatch(new RegExp(`${AGENCY} holds one ACCEPTED, ${BANK} one DISPUTED`));
  });

  it("sets aside a node's copy that does not verify, naming the node, and judges the other", async () => {
    const a = access(['loan']);
    const audited = await auditCopies(a, { provider: a.forged, requester: a.stored(true) });
    expect(audited).toMatchObject({ verdict: 'SIGNATURE_INVALID', bundleFrom: BANK });
    expect(audited.findings).toMatchObject([{ code: 'SIGNATURE_INVALID', field: 'acknowledgement.signature' }]);
    expect(audited.findings[0]?.reason).toMatch(new RegExp(`^${AGENCY}'s copy: `));
  });

  it("sets aside a node's copy of another bundle under the digest asked, naming the node, and judges the other", async () => {
    const real = access(['tax']);
    const other = access(['loan'], AT + 1000);
    const forged: FetchedBundle = { ...other.stored(true), receiptDigest: real.receiptDigest };
    const audited = await auditCopies(real, { provider: forged, requester: real.stored(true) });
    expect(audited).toMatchObject({ verdict: 'NO_VALID_CONSENT', bundleFrom: BANK });
    expect(audited.findings.map((f) => f.code)).toEqual(['NO_VALID_CONSENT', 'DIGEST_MISMATCH']);
    expect(audited.findings[1]?.reason).toContain(
      `${AGENCY} answered a bundle whose receipt digest is ${other.receiptDigest}`,
    );
    expect(await auditCopies(real, { provider: forged })).toMatchObject({
      verdict: 'DIGEST_MISMATCH',
      bundleFrom: undefined,
    });
  });

  it('names the node of a judged copy that does not verify, and the unreachable node when every copy is set aside', async () => {
    const a = access(['loan']);
    const judged = await auditCopies(a, { provider: a.forged });
    expect(judged).toMatchObject({ verdict: 'SIGNATURE_INVALID', bundleFrom: AGENCY });
    expect(judged.findings[0]?.reason).toMatch(new RegExp(`^${AGENCY}'s copy: `));
    const other = access(['tax'], AT + 1000);
    const forged: FetchedBundle = { ...other.stored(true), receiptDigest: a.receiptDigest };
    const [audited] = await auditAccesses(
      components([a.onChain], { [AGENCY]: { [a.receiptDigest]: forged } }, [BANK]),
      {},
    );
    expect(audited?.findings.map((f) => f.code)).toEqual(['DIGEST_MISMATCH', 'NOT_HEARD']);
    expect(audited?.findings[1]?.reason).toBe(`${BANK} was not heard: ${BANK} is down`);
  });

  it('finds BUNDLE_MISSING only when both sides answered without the bundle; NOT_HEARD when one did not answer', async () => {
    const a = access(['loan']);
    const [missing] = await auditAccesses(components([a.onChain], {}), {});
    expect(missing?.findings).toEqual([
      { code: 'BUNDLE_MISSING', reason: `neither ${AGENCY} nor ${BANK} holds the bundle of this receipt` },
    ]);
    const [unheard] = await auditAccesses(components([a.onChain], {}, [AGENCY]), {});
    expect(unheard?.findings).toEqual([{ code: 'NOT_HEARD', reason: `${AGENCY} was not heard: ${AGENCY} is down` }]);
  });

  it('judges the parts of the query a node answered, and marks not heard the part it failed and every later one', async () => {
    const a = access(['loan']);
    // 250 accesses: the bank's node is asked for them in three parts of at most 100 and fails the second.
    const receipts = Array.from({ length: 250 }, (_, i) => ({
      ...a.onChain,
      receiptDigest: i.toString(16).padStart(64, '0'),
      accessedAt: new Date(AT + i).toISOString(),
    }));
    const base = components(receipts, {});
    let bankAsked = 0;
    const audited = await auditAccesses(
      {
        ...base,
        fetchBundles: (mspId, digests, options) =>
          mspId === BANK && ++bankAsked === 2
            ? Promise.reject(new P2pError('TIMEOUT', `${BANK} did not answer the bundle fetch`))
            : base.fetchBundles(mspId, digests, options),
      },
      {},
    );
    expect(bankAsked).toBe(2);
    expect(audited.slice(0, 100).every((x) => x.verdict === 'BUNDLE_MISSING')).toBe(true);
    expect(new Set(audited.slice(100).map((x) => x.findings.map((f) => f.reason).join()))).toEqual(
      new Set([
        `${BANK} was not heard: ${BANK} did not answer the bundle fetch`,
        `${BANK} was not heard: not asked, after an earlier part of the query failed: ${BANK} did not answer the bundle fetch`,
      ]),
    );
    expect(audited.slice(100).map((x) => x.verdict)).toEqual(Array.from({ length: 150 }, () => 'NOT_HEARD'));
  });

  it("finds DIGEST_MISMATCH when the chain's record states another access time than the signed receipt", async () => {
    const a = access(['loan']);
    const onChain = { ...a.onChain, accessedAt: new Date(AT + 60_000).toISOString() };
    const [audited] = await auditAccesses(
      components([onChain], { [AGENCY]: { [a.receiptDigest]: a.stored(true) } }),
      {},
    );
    expect(audited?.findings).toMatchObject([{ code: 'DIGEST_MISMATCH', field: 'receipt.accessedAt' }]);
  });

  it('refuses a query with a malformed subject, naming the field', async () => {
    await expect(auditAccesses(components([], {}), { subject: 'not-a-code' })).rejects.toMatchObject({
      code: 'INVALID_QUERY',
      field: 'subject',
    });
  });

  it('asks the institutions at once: a node that answers only after the other was asked does not hold the audit', async () => {
    const a = access(['loan']);
    let bankAsked: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (bankAsked = resolve));
    const nodes = paced(components([a.onChain], { [AGENCY]: { [a.receiptDigest]: a.stored(true) } }), (mspId) => {
      if (mspId === AGENCY) return asked;
      bankAsked();
      return undefined;
    });
    // One at a time, the provider's node (asked first) would wait for the budget, and no verdict would be real.
    const audited = await auditAccesses(nodes, {}, { signal: AbortSignal.timeout(2_000) });
    expect(audited).toMatchObject([{ verdict: 'OK', bundleFrom: AGENCY }]);
  });

  it('asks eight institutions at once, no more: a query over many does not dial all their nodes together', async () => {
    const a = access(['loan']);
    // Ten institutions: the bank and nine agencies, one access each. No node answers until eight were asked.
    const receipts = Array.from({ length: 9 }, (_, i) => ({
      ...a.onChain,
      provider: `Agency${String(i)}MSP`,
      receiptDigest: i.toString(16).padStart(64, '0'),
    }));
    let release: () => void = () => undefined;
    let released = false;
    const eightAsked = new Promise<void>((resolve) => (release = resolve)).then(() => {
      released = true;
    });
    let asked = 0;
    let beyond = 0;
    const nodes = paced(components(receipts, {}), () => {
      asked += 1;
      if (!released && asked > 8) beyond += 1;
      if (asked === 8) release();
      return eightAsked;
    });
    const audited = await auditAccesses(nodes, {}, { signal: AbortSignal.timeout(2_000) });
    expect(beyond).toBe(0);
    expect(audited.map((x) => x.verdict)).toEqual(Array.from({ length: 9 }, () => 'BUNDLE_MISSING'));
  });

  it('gives no verdict, BUNDLE_MISSING least of all, when its time runs out before every node answered', async () => {
    const a = access(['loan']);
    const nodes = paced(components([a.onChain], { [BANK]: { [a.receiptDigest]: a.stored(true) } }), (mspId) =>
      mspId === AGENCY ? new Promise<void>(() => undefined) : undefined,
    );
    await expect(auditAccesses(nodes, {}, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'AuditError',
      code: 'INCOMPLETE',
      message: expect.stringContaining('narrow the query') as unknown,
    });
  });
});

describe('auditAccesses over libp2p', () => {
  const stopping: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(stopping.splice(0).map((stop) => stop()));
  });

  /** A TCP listener on loopback, closed after the test, as a registered multiaddr. */
  async function listening(onSocket: Parameters<typeof createServer>[1]): Promise<string> {
    const server: Server = createServer(onSocket);
    stopping.push(() => new Promise((resolve) => server.close(resolve)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `/ip4/127.0.0.1/tcp/${String((server.address() as { port: number }).port)}`;
  }

  /**
   * A registered address that takes connections and never says a word: a node whose process hangs. `dialled`
   * counts the connections it took.
   */
  const mute = (dialled = { count: 0 }) =>
    listening((socket) => {
      dialled.count += 1;
      socket.on('error', () => undefined);
      stopping.push(() => Promise.resolve(socket.destroy()));
    });

  /** An address that relays to `host` only after `delayMs`: a node slow to reach. */
  const slowToReach = (host: P2pHost, delayMs: number) => {
    const port = Number(/\/tcp\/(\d+)/.exec(host.addresses()[0] ?? '')?.[1]);
    return listening((inbound) => {
      inbound.on('error', () => undefined);
      setTimeout(() => {
        const outbound = connect(port, '127.0.0.1').on('error', () => undefined);
        inbound.pipe(outbound).pipe(inbound);
      }, delayMs);
    });
  };

  async function host(peer: { privateKey: Parameters<typeof startP2pHost>[0]['privateKey'] }, p2p: RegistryView) {
    const started = await startP2pHost({
      privateKey: peer.privateKey,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      registry: p2p,
    });
    stopping.push(() => started.stop());
    return started;
  }

  /**
   * An institution's node serving `bundles` from its journal on LevelDB, each read `slowMs` late, and giving itself
   * `messageTimeoutMs` (its default when absent) to answer a fetch.
   */
  async function servingNode(
    peer: Parameters<typeof host>[0],
    p2p: RegistryView,
    options: { bundles: readonly ExchangeBundle[]; slowMs?: number; messageTimeoutMs?: number },
  ): Promise<P2pHost> {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-audit-'));
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    stopping.push(async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });
    const journal = journalOffChain(db);
    for (const bundle of options.bundles) await journal.obtained(bundle);
    const node = await host(peer, p2p);
    await node.handle(
      AUDIT_PROTOCOL,
      bundleServer({
        registry: p2p,
        journal: {
          readableBundle: async (digest) => {
            await sleep(options.slowMs ?? 0);
            return journal.readableBundle(digest);
          },
        },
        ...(options.messageTimeoutMs !== undefined && { messageTimeoutMs: options.messageTimeoutMs }),
      }),
    );
    return node;
  }

  const at = (node: P2pHost) => node.addresses().map((address) => address.replace(/\/p2p\/.*$/, ''));

  /** The audit of `receipts` by a regulator's host fetching over `p2p`'s nodes, with `timeouts` for each node. */
  function overNodes(
    receipts: readonly ChainReceipt[],
    regulator: P2pHost,
    p2p: RegistryView,
    timeouts?: BundleFetchTimeouts,
  ): AccessAuditComponents {
    return {
      ...components(receipts, {}),
      fetchBundles: (mspId, digests, options) =>
        fetchBundles({ host: regulator, registry: p2p }, mspId, digests, { ...options, ...(timeouts && { timeouts }) }),
    };
  }

  const regulatorMember = (peerId: string): SnapshotMember => ({
    mspId: 'PbocRegulatorMSP',
    peerId,
    role: 'regulator',
  });

  /** The regulator's, the agency's and two of the bank's nodes (the first of which a test makes dead). */
  const peersWithTwoBankNodes = () =>
    Promise.all([testPeer('PbocRegulatorMSP'), testPeer(AGENCY), testPeer(BANK), testPeer(BANK)]);

  it("asks an institution's next node when the first is dead, each node in its own time from its own stream", async () => {
    const a = access(['loan']);
    const [regulator, agency, deadBank, bank] = await peersWithTwoBankNodes();
    const p2p = new RegistryView(snapshotOf([]));
    const agencyNode = await servingNode(agency, p2p, { bundles: [a.journaled.provider] });
    const bankNode = await servingNode(bank, p2p, { bundles: [a.journaled.requester], slowMs: 800 });
    const regulatorHost = await host(regulator, p2p);
    p2p.replace(
      snapshotOf([
        regulatorMember(regulator.peerId),
        { mspId: AGENCY, peerId: agency.peerId, addresses: at(agencyNode), role: 'agency' },
        // The bank's first node hangs at both its addresses; its second is 0.8 s away and answers 0.8 s after asked.
        { mspId: BANK, peerId: deadBank.peerId, addresses: [await mute(), await mute()] },
        { mspId: BANK, peerId: bank.peerId, addresses: [await slowToReach(bankNode, 800)] },
      ]),
    );
    // 1.5 s each to reach a node and to answer: one bound for the whole fetch, or an answer's bound started before
    // its node's dial, and the bank's dispute is never heard.
    const timeouts = { dialMs: 1_500, answerMs: 1_500 };
    const audited = await auditAccesses(
      overNodes([a.onChain], regulatorHost, p2p, timeouts),
      {},
      {
        signal: AbortSignal.timeout(30_000),
      },
    );
    expect(audited).toMatchObject([{ verdict: 'DISPUTED', bundleFrom: BANK }]);
  });

  it('asks the node that answered the first part of a query first for the next: the dead one is dialled once', async () => {
    const a = access(['loan']);
    const [regulator, agency, deadBank, bank] = await peersWithTwoBankNodes();
    const p2p = new RegistryView(snapshotOf([]));
    const agencyNode = await servingNode(agency, p2p, { bundles: [] });
    const bankNode = await servingNode(bank, p2p, { bundles: [] });
    const regulatorHost = await host(regulator, p2p);
    const dialled = { count: 0 };
    p2p.replace(
      snapshotOf([
        regulatorMember(regulator.peerId),
        { mspId: AGENCY, peerId: agency.peerId, addresses: at(agencyNode), role: 'agency' },
        { mspId: BANK, peerId: deadBank.peerId, addresses: [await mute(dialled)] },
        { mspId: BANK, peerId: bank.peerId, addresses: at(bankNode) },
      ]),
    );
    // 101 accesses: the bank's nodes are asked in two parts.
    const receipts = Array.from({ length: 101 }, (_, i) => ({
      ...a.onChain,
      receiptDigest: i.toString(16).padStart(64, '0'),
    }));
    const audited = await auditAccesses(overNodes(receipts, regulatorHost, p2p, { dialMs: 500 }), {});
    expect(audited.map((x) => x.verdict)).toEqual(Array.from({ length: 101 }, () => 'BUNDLE_MISSING'));
    expect(dialled.count).toBe(1);
  });

  it("names a node that overran its own time not heard: NOT_HEARD, not the provider's copy's NO_ACKNOWLEDGEMENT", async () => {
    const a = access(['loan']);
    const [regulator, agency, bank] = await Promise.all([
      testPeer('PbocRegulatorMSP'),
      testPeer(AGENCY),
      testPeer(BANK),
    ]);
    const p2p = new RegistryView(snapshotOf([]));
    const agencyNode = await servingNode(agency, p2p, { bundles: [a.journaled.provider] });
    // The bank's node holds the dispute, but its journal answers after the node's own 0.3 s to serve a fetch.
    const bankNode = await servingNode(bank, p2p, {
      bundles: [a.journaled.requester],
      slowMs: 800,
      messageTimeoutMs: 300,
    });
    const regulatorHost = await host(regulator, p2p);
    p2p.replace(
      snapshotOf([
        regulatorMember(regulator.peerId),
        { mspId: AGENCY, peerId: agency.peerId, addresses: at(agencyNode), role: 'agency' },
        { mspId: BANK, peerId: bank.peerId, addresses: at(bankNode) },
      ]),
    );
    // The regulator's own bounds are the defaults, and the explorer's 30 s budget holds: a verdict for every access.
    const [audited] = await auditAccesses(
      overNodes([a.onChain], regulatorHost, p2p),
      {},
      {
        signal: AbortSignal.timeout(30_000),
      },
    );
    expect(audited).toMatchObject({ verdict: 'NOT_HEARD', bundleFrom: AGENCY });
    expect(audited?.findings.map((f) => f.code)).toEqual(['NOT_HEARD', 'NO_ACKNOWLEDGEMENT']);
    expect(audited?.findings[0]?.reason).toMatch(
      new RegExp(
        `^${BANK} was not heard: ${BANK} did not answer the bundle fetch: .*; judged by ${AGENCY}'s copy alone$`,
      ),
    );
  });
});
