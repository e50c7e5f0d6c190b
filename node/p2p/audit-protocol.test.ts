/**
 * The bundle fetch over real libp2p TCP on loopback, a regulator's host asking an institution's: a stored bundle
 * that does not decode is answered as not found and reported, the others in the same fetch still served.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIT_PROTOCOL } from './constants.ts';
import { bundleServer, fetchBundles } from './audit-protocol.ts';
import { generateTestKey } from '../receipts/test-fixtures.ts';
import { JournalEntryError } from './errors.ts';
import type { ExchangeBundle } from './exchange-ports.ts';
import { signEnvelope } from './exchange-signatures.ts';
import { startP2pHost, type P2pHost } from './p2p-host.ts';
import { RegistryView } from './registry-view.ts';
import { snapshotOf, testPeer } from './test-registry.ts';

const REGULATOR = 'PbocRegulatorMSP';
const BANK = 'ShanghaiBankMSP';
const hosts: P2pHost[] = [];

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
});

const key = generateTestKey();
const envelope = () => signEnvelope('access-request', randomBytes(40), key);

describe('bundleServer', () => {
  it('answers a damaged stored bundle as not found, reports it, and serves the others of the fetch', async () => {
    const [regulator, bank] = await Promise.all([testPeer(REGULATOR), testPeer(BANK)]);
    const registry = new RegistryView(snapshotOf([]));
    const listen = ['/ip4/127.0.0.1/tcp/0'];
    const regulatorHost = await startP2pHost({ privateKey: regulator.privateKey, listen, registry });
    const bankHost = await startP2pHost({ privateKey: bank.privateKey, listen, registry });
    hosts.push(regulatorHost, bankHost);
    const address = (host: P2pHost) => host.addresses().map((a) => a.replace(/\/p2p\/.*$/, ''));
    registry.replace(
      snapshotOf([
        { mspId: REGULATOR, peerId: regulator.peerId, addresses: address(regulatorHost), role: 'regulator' },
        { mspId: BANK, peerId: bank.peerId, addresses: address(bankHost) },
      ]),
    );
    const [damaged, kept, unknown] = ['0a', '0b', '0c'].map((byte) => byte.repeat(32)) as [string, string, string];
    const stored = {
      request: envelope(),
      receipt: envelope(),
      acknowledgement: envelope(),
    } as unknown as ExchangeBundle;
    const errors: unknown[] = [];
    await bankHost.handle(
      AUDIT_PROTOCOL,
      bundleServer({
        registry,
        journal: {
          bundle: (digest) => {
            if (digest === damaged) return Promise.reject(new JournalEntryError(`p/${digest}`, { cause: 'bad' }));
            return Promise.resolve(digest === kept ? stored : undefined);
          },
        },
        onError: (err) => errors.push(err),
      }),
    );
    const fetched = await fetchBundles(regulatorHost, BANK, [damaged, kept, unknown]);
    expect(fetched.map((b) => [b.receiptDigest, b.found])).toEqual([
      [damaged, false],
      [kept, true],
      [unknown, false],
    ]);
    expect(fetched[1]).toMatchObject({ acknowledgement: { body: stored.acknowledgement?.body } });
    expect(errors).toEqual([expect.objectContaining({ code: 'JOURNAL_ENTRY_UNREADABLE', key: `p/${damaged}` })]);
  });
});
