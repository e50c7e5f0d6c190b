/**
 * A report larger than one message, over real libp2p TCP on loopback between two hosts: the provider streams it in
 * chunks, the requester reassembles it (its digest matches the receipt) and refuses one beyond its size bound.
 * The chain's parts are typed fakes of the narrow interfaces (test/p2p-exchange.test.ts runs the real ledger).
 */
import { randomBytes } from 'node:crypto';
import { lpStream } from '@libp2p/utils';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Consent } from '../../chaincode/src/protocol.ts';
import { generateTestKey } from '../receipts/test-fixtures.ts';
import { testUscc } from '../services/test-node-parts.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, EXCHANGE_PROTOCOL, REPORT_CHUNK_BYTES } from './constants.ts';
import { decodeFrame, encodeFrame } from './exchange-messages.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { ReportProvider } from './exchange-provider.ts';
import type { ReportRequester } from './exchange-requester.ts';
import { startP2pHost, type P2pHost } from './p2p-host.ts';
import { RegistryView } from './registry-view.ts';
import { disputingRequester, keepingJournal, memoryReplay } from './test-exchange.ts';
import { snapshotOf, testPeer } from './test-registry.ts';

const BANK = 'ShanghaiBankMSP';
const AGENCY = 'HangzhouCreditMSP';
const SUBJECT = testUscc(1);
const CONSENT_ID = 'c'.repeat(64);
/** Several chunks, under the default message bound for each. */
const CONTENT = randomBytes(REPORT_CHUNK_BYTES * 5 + 123);

const bankKey = generateTestKey();
const agencyKey = generateTestKey();
const hosts: P2pHost[] = [];
const provided: ExchangeBundle[] = [];
const acknowledged: ExchangeBundle[] = [];
let bankHost: P2pHost;
let registry: RegistryView;

const consent: Consent = {
  consentId: CONSENT_ID,
  subject: SUBJECT,
  grantee: BANK,
  purpose: 'LOAN_APPROVAL',
  scope: ['loan'],
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: '2099-01-01T00:00:00.000Z',
  authorizationDigest: 'a'.repeat(64),
  recordedBy: BANK,
  status: 'active',
  grantedAt: '2026-01-01T00:00:00.000Z',
  revokedAt: null,
  revokedBy: null,
  txId: 'tx',
};

beforeAll(async () => {
  const [bank, agency] = await Promise.all([testPeer(BANK), testPeer(AGENCY)]);
  registry = new RegistryView(snapshotOf([]));
  bankHost = await startP2pHost({ privateKey: bank.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry });
  const agencyHost = await startP2pHost({ privateKey: agency.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], registry });
  hosts.push(bankHost, agencyHost);
  const address = (host: P2pHost) => host.addresses().map((a) => a.replace(/\/p2p\/.*$/, ''));
  registry.replace(
    snapshotOf([
      { mspId: BANK, peerId: bank.peerId, addresses: address(bankHost), receiptKeys: [bankKey] },
      {
        mspId: AGENCY,
        peerId: agency.peerId,
        addresses: address(agencyHost),
        role: 'agency',
        receiptKeys: [agencyKey],
      },
    ]),
  );
  const provider = new ReportProvider({
    mspId: AGENCY,
    receiptKey: agencyKey,
    registry,
    consents: {
      getConsent: (id) => Promise.resolve(id === CONSENT_ID ? consent : undefined),
    },
    reports: {
      latestRecords: () =>
        Promise.resolve([
          {
            record: {
              kind: 'loan',
              version: 1,
              contentType: 'application/octet-stream',
              content: CONTENT,
              attestation: Buffer.from('not checked here'),
            },
            leafHash: Buffer.alloc(32),
          },
        ]),
    },
    replay: memoryReplay(),
    journal: keepingJournal(provided, acknowledged),
  });
  await agencyHost.handle(EXCHANGE_PROTOCOL, provider.handler);
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
});

function requester(maxReportBytes?: number): ReportRequester {
  // Its attestation check refuses the fake's: it disputes, after the report's digest matched the receipt.
  return disputingRequester(
    { mspId: BANK, receiptKey: bankKey, host: bankHost, registry },
    maxReportBytes === undefined ? {} : { maxReportBytes },
  );
}

const query = { provider: AGENCY, subject: SUBJECT, kinds: ['loan'], purpose: 'LOAN_APPROVAL', consentId: CONSENT_ID };

describe('a report of several chunks', () => {
  it('arrives whole, its digest matching the receipt', async () => {
    const obtained = await requester().requestReport(query);
    expect(Buffer.from(obtained.report.records[0]?.content ?? []).equals(CONTENT)).toBe(true);
    // Had the chunks been reassembled wrongly, the dispute would be about the report digest.
    expect(obtained.status).toBe('DISPUTED');
    expect(obtained.disputeReason).toMatch(/attestation refused/);
  });

  it('is refused by a requester whose size bound it exceeds', async () => {
    await expect(requester(REPORT_CHUNK_BYTES * 2).requestReport(query)).rejects.toMatchObject({
      code: 'BAD_MESSAGE',
      field: 'chunk',
    });
  });

  it('is recorded, unacknowledged, when the requester drops the stream after the first chunk', async () => {
    const before = provided.length;
    const acknowledgedBefore = acknowledged.length;
    const stream = await bankHost.openStream(AGENCY, EXCHANGE_PROTOCOL);
    const lp = lpStream(stream, { maxDataLength: DEFAULT_MAX_MESSAGE_BYTES });
    await lp.write(encodeFrame({ kind: 'request', envelope: requester().signRequest(query) }));
    expect(decodeFrame((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray()).kind).toBe('chunk');
    stream.abort(new Error('the requester leaves with what it has read'));
    await vi.waitFor(() => {
      expect(provided.length).toBe(before + 1);
    });
    expect(provided[before]?.acknowledgement).toBeUndefined();
    expect(provided[before]?.decoded.receipt.subject).toBe(SUBJECT);
    expect(acknowledged.length).toBe(acknowledgedBefore);
  });
});
