import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { sha256 } from '../../network/crypto/index.ts';
import type { NotarizeRequest__Output } from '../api/generated/lianxin/v1/NotarizeRequest.ts';
import type { NotaryServiceImpl } from '../api/handlers.ts';
import { createLogger } from '../logging/index.ts';
import { EvidenceNotarizer } from '../notary/index.ts';
import { FakeEvidenceChain } from '../notary/test-evidence-chain.ts';
import { verifyAttestation } from '../receipts/index.ts';
import { createNotaryService, type NotaryServiceComponents } from './notary-service.ts';
import { NotaryStore } from './notary-store.ts';
import { CHAINCODE, CHANNEL, callContext, openTestNodeParts, testUscc, type TestNodeParts } from './test-node-parts.ts';

const PLATFORM = 'SuzhouTradePlatformMSP';
const OTHER_PLATFORM = 'NanjingSupplyChainMSP';
const ctx = callContext(PLATFORM, 'platform');

let parts: TestNodeParts;
let notary: NotaryStore;
let chain: FakeEvidenceChain;
let notarizer: EvidenceNotarizer;
let service: NotaryServiceImpl;

/** The service as the node builds it, waiting at most `chainWaitMs` for the chain, in the node's `usccMode`. */
function notaryService(
  chainWaitMs: number,
  usccMode: UsccMode = 'strict',
  log: NotaryServiceComponents['log'] = parts.log,
): NotaryServiceImpl {
  return createNotaryService({
    notary,
    notarizer,
    chain,
    builder: parts.builder,
    log,
    admission: { usccMode },
    mspId: PLATFORM,
    channel: CHANNEL,
    chaincode: CHAINCODE,
    chainWaitMs,
  });
}

beforeEach(async () => {
  parts = await openTestNodeParts(PLATFORM, 'platform');
  notary = new NotaryStore({ db: parts.db.records, log: parts.log, mspId: PLATFORM });
  chain = new FakeEvidenceChain(PLATFORM, ['ShanghaiBankMSP']);
  notarizer = new EvidenceNotarizer({
    db: parts.db.records,
    write: parts.db.write,
    log: parts.log,
    chain,
    logger: createLogger({ level: 'silent' }),
    retryInitialMs: 5,
    retryMaxMs: 20,
  });
  notarizer.start();
  // Long enough for any commit of the fake chain: tests of PENDING build their own service.
  service = notaryService(60_000);
});

afterEach(async () => {
  chain.release();
  await notarizer.stop();
  await parts[Symbol.asyncDispose]();
});

function notarizeRequest(document: string, change: Partial<NotarizeRequest__Output> = {}): NotarizeRequest__Output {
  return {
    requestId: `notarize-${document}`,
    documentDigest: sha256(Buffer.from(document)),
    parties: [testUscc(1).toLowerCase(), 'ShanghaiBankMSP'],
    partySignatureDigests: [sha256(Buffer.from(`${document} signed by 1`))],
    labels: { contract_type: 'purchase', currency: 'CNY' },
    ...change,
  };
}

describe('NotaryService.Notarize', () => {
  it('logs the contract evidence and returns a CHECKPOINTED receipt that verifies offline', async () => {
    const request = notarizeRequest('contract A');

    const { receipt } = await service.Notarize(request, ctx);

    expect(receipt).toMatchObject({ state: 'EVIDENCE_STATE_CHECKPOINTED', anchor: null, issuer: PLATFORM });
    expect(verifyAttestation(receipt ?? {}, parts.bundle)).toMatchObject({
      ok: true,
      leafIndex: 0,
      leaf: {
        org: PLATFORM,
        entry: 'contract',
        contract: {
          documentDigest: request.documentDigest,
          // USCCs are stored upper-cased, as the chaincode normalizes them.
          parties: [testUscc(1), 'ShanghaiBankMSP'],
          partySignatureDigests: request.partySignatureDigests,
          labels: request.labels,
        },
      },
    });
  });

  it('is idempotent by document digest: the same evidence again gives the first leaf and writes nothing', async () => {
    const first = await service.Notarize(notarizeRequest('contract A'), ctx);
    await service.Notarize(notarizeRequest('contract B'), ctx);

    const again = await service.Notarize(notarizeRequest('contract A', { requestId: 'retry' }), ctx);

    expect(again.receipt?.inclusion?.leafIndex).toBe(0);
    expect(again.receipt?.leaf).toEqual(first.receipt?.leaf);
    expect(parts.log.size).toBe(2);
  });

  it('refuses a digest already notarized with other parties with ALREADY_EXISTS', async () => {
    await service.Notarize(notarizeRequest('contract A'), ctx);
    await expect(
      service.Notarize(notarizeRequest('contract A', { parties: ['ShanghaiBankMSP'], partySignatureDigests: [] }), ctx),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS', field: 'document_digest' });
    expect(parts.log.size).toBe(1);
  });

  it('notarizes concurrent requests for one document once', async () => {
    const receipts = await Promise.all(
      Array.from({ length: 8 }, () => service.Notarize(notarizeRequest('contract C'), ctx)),
    );
    expect(new Set(receipts.map((r) => r.receipt?.inclusion?.leafIndex))).toEqual(new Set([0]));
    expect(parts.log.size).toBe(1);
  });

  const digest = (n: number) => Buffer.alloc(n, 7);
  it.each([
    ['a 31-byte document digest', { documentDigest: digest(31) }, 'document_digest'],
    ['an empty document digest', { documentDigest: Buffer.alloc(0) }, 'document_digest'],
    ['no parties', { parties: [], partySignatureDigests: [] }, 'parties'],
    ['33 parties', { parties: Array.from({ length: 33 }, (_, i) => testUscc(i + 1)) }, 'parties'],
    ['a party that is neither USCC nor MSP ID', { parties: ['ShanghaiBankMSP', 'no such party!'] }, 'parties[1]'],
    ['a USCC with a wrong check character', { parties: ['91330100MA27XK5U3X'] }, 'parties[0]'],
    ['a repeated party', { parties: ['ShanghaiBankMSP', 'ShanghaiBankMSP'] }, 'parties[1]'],
    ['one enterprise in two cases', { parties: [testUscc(1).toLowerCase(), testUscc(1)] }, 'parties[1]'],
    ['a 33-byte signature digest', { partySignatureDigests: [digest(32), digest(33)] }, 'party_signature_digests[1]'],
    [
      'more signature digests than parties',
      { partySignatureDigests: [digest(32), digest(32), digest(32)] },
      'party_signature_digests',
    ],
    ['17 labels', { labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'labels'],
    ['a label key with spaces', { labels: { 'contract type': 'purchase' } }, 'labels'],
    ['a label value with a control character', { labels: { note: 'line\nbreak' } }, 'labels.note'],
    ['an empty label value', { labels: { note: '' } }, 'labels.note'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_name, change, field) => {
    await expect(service.Notarize(notarizeRequest('contract Z', change), ctx)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field,
    });
    expect(parts.log.size).toBe(0);
  });
});

describe('NotaryService.Notarize on chain', () => {
  it("waits for NotarizeEvidence and answers with the chain's record", async () => {
    const request = notarizeRequest('contract A');

    const response = await service.Notarize(request, ctx);

    const hex = request.documentDigest.toString('hex');
    expect(response).toMatchObject({
      chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED',
      chainEvidence: [
        {
          documentDigest: request.documentDigest,
          platform: PLATFORM,
          parties: [testUscc(1), 'ShanghaiBankMSP'],
          partySignatureDigests: { [testUscc(1)]: request.partySignatureDigests[0] },
          channel: CHANNEL,
          chaincode: CHAINCODE,
          blockNumber: 1,
        },
      ],
    });
    const [onChain] = await chain.listEvidenceByDigest(hex);
    expect(response.chainEvidence?.[0]).toMatchObject({
      evidenceId: onChain?.evidenceId,
      transactionId: onChain?.txId,
    });
  });

  it('answers PENDING when the chain does not commit in time, and GetNotarization gives the commit later', async () => {
    chain.hold();
    const request = notarizeRequest('contract A');

    const response = await notaryService(1).Notarize(request, ctx);

    expect(response).toMatchObject({ chainState: 'CHAIN_NOTARIZATION_STATE_PENDING', receipt: { issuer: PLATFORM } });
    expect(response.chainEvidence ?? []).toEqual([]);
    chain.release();
    await notarizer.settled(request.documentDigest, new AbortController().signal);
    await expect(service.GetNotarization({ documentDigest: request.documentDigest }, ctx)).resolves.toMatchObject({
      chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED',
      chainEvidence: [{ platform: PLATFORM }],
    });
  });

  it('notarizes without waiting while the chain is down, and the notarization reaches it once back', async () => {
    chain.down = true;
    // Enterprises with codes right in either USCC mode: nothing the chain could refuse once back.
    const request = notarizeRequest('contract A', { parties: [testUscc(1), testUscc(2)] });

    const response = await service.Notarize(request, ctx);

    expect(response).toMatchObject({ chainState: 'CHAIN_NOTARIZATION_STATE_PENDING', receipt: { issuer: PLATFORM } });
    chain.down = false;
    await expect(notarizer.settled(request.documentDigest, new AbortController().signal)).resolves.toMatchObject({
      state: 'committed',
    });
  });

  it.each([
    ['an institution party', ['ShanghaiBankMSP', testUscc(1)], 'parties[0]'],
    ["a code only the registry's lenient mode takes", [testUscc(1), '91330100MA27XK5U3X'], 'parties[1]'],
  ])('refuses %s UNAVAILABLE while the chain is down, logging nothing', async (_name, parties, field) => {
    chain.down = true;

    await expect(
      notaryService(60_000, 'lenient').Notarize(notarizeRequest('contract A', { parties }), ctx),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE', field });
    expect(parts.log.size).toBe(0);
    // Sent again once the chain is back, it is checked and notarized.
    chain.down = false;
    chain.usccMode = 'lenient';
    await expect(
      notaryService(60_000, 'lenient').Notarize(notarizeRequest('contract A', { parties }), ctx),
    ).resolves.toMatchObject({ chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED' });
  });

  it('refuses an institution party not registered on chain, naming it, before logging anything', async () => {
    await expect(
      service.Notarize(notarizeRequest('contract A', { parties: [testUscc(1), 'UnknownBankMSP'] }), ctx),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'parties[1]' });
    expect(parts.log.size).toBe(0);
  });

  it("refuses a code the registry's USCC mode refuses, though the node's took it, before logging anything", async () => {
    // The node started lenient with the registry; the operator has since run SetUsccMode strict.
    const pilotCode = '91330100MA27XK5U3X';
    chain.usccMode = 'strict';

    await expect(
      notaryService(60_000, 'lenient').Notarize(notarizeRequest('contract A', { parties: [pilotCode] }), ctx),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'parties[0]' });
    expect(parts.log.size).toBe(0);
    chain.usccMode = 'lenient';
    await expect(
      notaryService(60_000, 'lenient').Notarize(notarizeRequest('contract A', { parties: [pilotCode] }), ctx),
    ).resolves.toMatchObject({ chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED' });
  });

  it('answers a repeat of a logged notarization with a fresh receipt, whatever the chain or the USCC modes say now', async () => {
    // Logged and committed while the registry was lenient, with an institution party and a pilot-region code.
    const parties = ['ShanghaiBankMSP', '91330100MA27XK5U3X'];
    chain.usccMode = 'lenient';
    const request = notarizeRequest('contract A', { parties });
    const first = await notaryService(60_000, 'lenient').Notarize(request, ctx);
    expect(first.chainState).toBe('CHAIN_NOTARIZATION_STATE_COMMITTED');
    // SetUsccMode strict since: the repeat is answered on the node in either mode, the chain committed it.
    chain.usccMode = 'strict';
    for (const mode of ['lenient', 'strict'] as const) {
      await expect(notaryService(60_000, mode).Notarize(request, ctx)).resolves.toMatchObject({
        receipt: { leaf: first.receipt?.leaf },
        chainState: 'CHAIN_NOTARIZATION_STATE_COMMITTED',
      });
    }
    // The ledger down: the institution party cannot be checked, but needs no checking any more.
    chain.down = true;
    await expect(service.Notarize(request, ctx)).resolves.toMatchObject({
      receipt: { leaf: first.receipt?.leaf },
    });
    expect(parts.log.size).toBe(1);
    // A repeat with other evidence is still refused.
    await expect(
      service.Notarize(notarizeRequest('contract A', { parties: [parties[0] ?? ''] }), ctx),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('refuses a document this platform notarized on chain with other parties, before logging anything', async () => {
    const request = notarizeRequest('contract A');
    chain.put(PLATFORM, request.documentDigest.toString('hex'), ['ShanghaiBankMSP']);

    await expect(service.Notarize(request, ctx)).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      field: 'document_digest',
    });
    expect(parts.log.size).toBe(0);
  });

  it('puts a logged notarization on chain even when signing its checkpoint fails', async () => {
    const signingFailed = new Error('checkpoint signing failed');
    // The leaf is appended, then the checkpoint covering it cannot be signed (a storage fault, a key gone).
    const failing = notaryService(60_000, 'strict', {
      latestCheckpoint: () => parts.log.latestCheckpoint(),
      checkpoint: () => Promise.reject(signingFailed),
    });
    const request = notarizeRequest('contract A');

    await expect(failing.Notarize(request, ctx)).rejects.toBe(signingFailed);

    expect(parts.log.size).toBe(1);
    // Nothing else wakes the worker here (settled() would: it is asked only once the submission is seen).
    for (let polls = 0; polls < 500 && chain.submitted.length === 0; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(chain.submitted).toMatchObject([{ documentDigest: request.documentDigest.toString('hex') }]);
    await expect(notarizer.settled(request.documentDigest, AbortSignal.timeout(60_000))).resolves.toMatchObject({
      state: 'committed',
    });
  });

  it("reports the chain's refusal of a logged notarization, and GetNotarization shows it REFUSED", async () => {
    // Another node of the platform notarizes the document between this node's check and its submission.
    chain.hold();
    const request = notarizeRequest('contract A');
    const notarizing = service.Notarize(request, ctx);
    await eventuallySubmitted();
    chain.put(PLATFORM, request.documentDigest.toString('hex'), ['ShanghaiBankMSP']);
    chain.release();

    await expect(notarizing).rejects.toMatchObject({ code: 'ALREADY_EXISTS', field: 'document_digest' });
    await expect(service.GetNotarization({ documentDigest: request.documentDigest }, ctx)).resolves.toMatchObject({
      receipt: { issuer: PLATFORM },
      chainState: 'CHAIN_NOTARIZATION_STATE_REFUSED',
      chainRefusal: expect.stringContaining('EVIDENCE_CONFLICT') as string,
    });
  });

  /** Resolves once the worker has submitted something (the fake chain then holds it). */
  async function eventuallySubmitted(): Promise<void> {
    while (chain.submitted.length === 0) await new Promise((resolve) => setImmediate(resolve));
  }
});

describe('NotaryService.GetNotarization', () => {
  it("answers from the chain for a document another platform notarized: every platform's evidence", async () => {
    const digest = sha256(Buffer.from('contract elsewhere'));
    const evidence = chain.put(OTHER_PLATFORM, digest.toString('hex'), [testUscc(2)], {
      [testUscc(2)]: sha256(Buffer.from('signed')).toString('hex'),
    });

    const response = await service.GetNotarization({ documentDigest: digest }, ctx);

    expect(response.receipt ?? null).toBeNull();
    expect(response.chainEvidence).toEqual([
      {
        evidenceId: evidence.evidenceId,
        documentDigest: digest,
        platform: OTHER_PLATFORM,
        parties: [testUscc(2)],
        partySignatureDigests: { [testUscc(2)]: sha256(Buffer.from('signed')) },
        notarizedAt: evidence.notarizedAt,
        channel: CHANNEL,
        chaincode: CHAINCODE,
        transactionId: evidence.txId,
        blockNumber: Number(await chain.blockNumberOf(evidence.txId)),
      },
    ]);
    expect(response.chainEvidence?.[0]?.blockNumber).toBeGreaterThan(0);
  });

  it('gives the receipt ANCHORED once the checkpoint is on chain', async () => {
    const request = notarizeRequest('contract A');
    await service.Notarize(request, ctx);
    await parts.anchorAll();

    const { receipt } = await service.GetNotarization({ documentDigest: request.documentDigest }, ctx);

    expect(receipt?.anchor?.transactionId).toBe(parts.anchorChain.anchored[0]?.transactionId);
    expect(verifyAttestation(receipt ?? {}, parts.bundle, { requireAnchored: true })).toMatchObject({
      ok: true,
      state: 'EVIDENCE_STATE_ANCHORED',
      leaf: { contract: { documentDigest: request.documentDigest } },
    });
  });

  it('refuses a document notarized neither here nor on chain with NOT_FOUND', async () => {
    await expect(
      service.GetNotarization({ documentDigest: sha256(Buffer.from('never notarized')) }, ctx),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a digest of the wrong length with INVALID_ARGUMENT naming document_digest', async () => {
    await expect(service.GetNotarization({ documentDigest: Buffer.alloc(20) }, ctx)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'document_digest',
    });
  });
});

describe('NotaryStore', () => {
  it('keeps its entries apart from the credit records sharing the sublevel', async () => {
    await parts.ingest([1]);
    await parts.log.checkpoint();
    const request = notarizeRequest('contract A');

    const { receipt } = await service.Notarize(request, ctx);

    expect(receipt?.inclusion?.leafIndex).toBe(1);
    await expect(notary.leafIndexOf(request.documentDigest)).resolves.toBe(1);
    await expect(parts.records.get(testUscc(1), 'loan')).resolves.toMatchObject({ leafIndex: 0 });
  });
});
