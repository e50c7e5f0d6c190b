/**
 * An access recorded the way a provider's node records it, without running the exchange: a consent granted by the
 * requester, request / receipt / acknowledgement signed by both nodes' real receipt keys, put in the provider's
 * exchange journal by the journal's own code (which records it on chain as the provider). The provider's node must
 * be stopped (its database is opened here). For the audit's and the explorer's tests, which need a known access
 * (one whose consent may not even cover the kind) faster than a libp2p exchange gives one.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadNodeConfig } from '../../node/config/index.ts';
import {
  encodeAccessReceipt,
  encodeAcknowledgement,
  type AccessReceipt,
  type AccessRequest,
  type Acknowledgement,
} from '../../node/p2p/exchange-messages.ts';
import {
  ChainExchangeJournal,
  digestOf,
  encodeAccessRequest,
  signEnvelope,
  type ExchangeBundle,
} from '../../node/p2p/index.ts';
import { receiptKeyOf, type ReceiptKey } from '../../node/receipts/index.ts';
import { openNodeDatabase } from '../../node/store/index.ts';
import type { TestNetwork } from './test-node.ts';
import { grantTestConsent } from './consent.ts';

export interface SeededAccess {
  readonly net: TestNetwork;
  /** node.yaml of each node by MSP ID (their receipt keys and the provider's data directory). */
  readonly configs: Readonly<Record<string, string>>;
  readonly requester: string;
  readonly provider: string;
  readonly subject: string;
  readonly purpose: string;
  /** What the consent covers. */
  readonly consentScope: readonly string[];
  /** What the access asked for and got. */
  readonly kinds: readonly string[];
}

async function receiptKeyOfNode(configs: Readonly<Record<string, string>>, mspId: string): Promise<ReceiptKey> {
  const config = await loadNodeConfig(configs[mspId] ?? '');
  return receiptKeyOf(createPrivateKey(await readFile(config.keys.receipt)));
}

/** Records the access; returns its receipt's digest (hex). */
export async function seedRecordedAccess(s: SeededAccess): Promise<string> {
  const consentId = await grantTestConsent(await s.net.chain(s.requester), {
    subject: s.subject,
    grantee: s.requester,
    purpose: s.purpose,
    scope: s.consentScope,
  });
  const [requesterKey, providerKey] = await Promise.all([
    receiptKeyOfNode(s.configs, s.requester),
    receiptKeyOfNode(s.configs, s.provider),
  ]);
  const now = Date.now();
  const request: AccessRequest = {
    requestId: randomBytes(32).toString('hex'),
    requester: s.requester,
    provider: s.provider,
    subject: s.subject,
    kinds: [...s.kinds],
    purpose: s.purpose,
    consentId,
    nonce: randomBytes(16),
    issuedAtMs: now,
    expiresAtMs: now + 60_000,
  };
  const requestEnvelope = signEnvelope('access-request', encodeAccessRequest(request), requesterKey);
  const receipt: AccessReceipt = {
    requestId: request.requestId,
    requestDigest: digestOf(requestEnvelope),
    provider: s.provider,
    requester: s.requester,
    subject: s.subject,
    purpose: s.purpose,
    consentId,
    records: s.kinds.map((kind) => ({ kind, version: 1, recordDigest: randomBytes(32), leafHash: randomBytes(32) })),
    reportDigest: randomBytes(32),
    issuedAtMs: now + 1,
  };
  const receiptEnvelope = signEnvelope('access-receipt', encodeAccessReceipt(receipt), providerKey);
  const acknowledgement: Acknowledgement = {
    requestId: request.requestId,
    receiptDigest: digestOf(receiptEnvelope),
    requester: s.requester,
    status: 'ACCEPTED',
    disputeReason: '',
    issuedAtMs: now + 2,
  };
  const bundle: ExchangeBundle = {
    request: requestEnvelope,
    receipt: receiptEnvelope,
    acknowledgement: signEnvelope('acknowledgement', encodeAcknowledgement(acknowledgement), requesterKey),
    decoded: { request, receipt, acknowledgement },
  };
  const config = await loadNodeConfig(s.configs[s.provider] ?? '');
  const db = await openNodeDatabase(join(config.dataDir, 'db'));
  try {
    const errors: unknown[] = [];
    const journal = new ChainExchangeJournal({
      db: db.exchangeJournal,
      chain: await s.net.chain(s.provider),
      onError: (err) => errors.push(err),
    });
    await journal.provided(bundle);
    await journal.settled();
    if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
  } finally {
    await db.close();
  }
  return digestOf(receiptEnvelope).toString('hex');
}
