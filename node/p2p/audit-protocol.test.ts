/**
 * The bundle fetch over real libp2p TCP on loopback, a regulator's host asking an institution's: a stored bundle
 * that does not decode is answered as not found and reported once, the others in the same fetch still served.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIT_PROTOCOL } from './constants.ts';
import { bundleServer, fetchBundles } from './audit-protocol.ts';
import { generateTestKey } from '../receipts/test-fixtures.ts';
import { digestOf } from './exchange-signatures.ts';
import { startP2pHost, type P2pHost } from './p2p-host.ts';
import { RegistryView } from './registry-view.ts';
import { journalOffChain, signedExchange } from './test-exchange.ts';
import { snapshotOf, testPeer } from './test-registry.ts';

const REGULATOR = 'PbocRegulatorMSP';
const BANK = 'ShanghaiBankMSP';
const hosts: P2pHost[] = [];

const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('bundleServer', () => {
  it('answers a damaged stored bundle as not found, reports it once, and serves the others of the fetch', async () => {
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
    // The requester's journal on LevelDB: one bundle it obtained, and an entry damaged on disk.
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-audit-'));
    dirs.push(dir);
    const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const errors: unknown[] = [];
    const journal = journalOffChain(db, (err) => errors.push(err));
    const stored = signedExchange(
      { mspId: BANK, receiptKey: generateTestKey() },
      { mspId: 'HangzhouCreditMSP', receiptKey: generateTestKey() },
    );
    await journal.obtained(stored);
    const kept = digestOf(stored.receipt).toString('hex');
    const [damaged, unknown] = ['0a', '0c'].map((byte) => byte.repeat(32)) as [string, string];
    await db.put(Buffer.from(`o/${damaged}`), Buffer.from('{"request":'));
    await bankHost.handle(AUDIT_PROTOCOL, bundleServer({ registry, journal, onError: (err) => errors.push(err) }));
    for (const _fetch of [1, 2]) {
      const fetched = await fetchBundles({ host: regulatorHost, registry }, BANK, [damaged, kept, unknown]);
      expect(fetched.map((b) => [b.receiptDigest, b.found])).toEqual([
        [damaged, false],
        [kept, true],
        [unknown, false],
      ]);
      expect(fetched[1]).toMatchObject({ acknowledgement: { body: stored.acknowledgement?.body } });
    }
    // Reported once, not at every fetch: a regulator may fetch the entry again and again.
    expect(errors).toEqual([expect.objectContaining({ code: 'JOURNAL_ENTRY_UNREADABLE', key: `o/${damaged}` })]);
    await db.close();
  });
});
