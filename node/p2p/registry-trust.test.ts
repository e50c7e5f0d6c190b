import { describe, expect, it } from 'vitest';
import type { RegistrySnapshot } from '../ledger/index.ts';
import { attestationBytes, ReceiptsError } from '../receipts/index.ts';
import {
  attest,
  CHANNEL,
  createTestLog,
  createTestOrg,
  generateTestKey,
  keyRow,
  nodeRow,
  organizationRow,
  type TestOrg,
} from '../receipts/test-fixtures.ts';
import { registryTrust } from './registry-trust.ts';
import { RegistryView } from './registry-view.ts';

const rowsOf = (orgs: readonly TestOrg[]): RegistrySnapshot => ({
  organizations: orgs.map(organizationRow),
  keys: orgs.flatMap((org) => [keyRow(org.mspId, org.receiptKey, 'receipt'), keyRow(org.mspId, org.logKey, 'log')]),
  nodes: orgs.map(nodeRow),
});

/** A chain whose registry reads answer `answers` in turn (an Error is thrown). */
function chainAnswering(answers: (RegistrySnapshot | Error)[]) {
  return {
    registrySnapshot: () => {
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no more registry reads in this test');
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

describe('the registry reads behind the report exchange', () => {
  it('hands on every snapshot when its rows make no trust bundle, and picks up a revocation at the next read', async () => {
    const [bankA, bankB] = await Promise.all([createTestOrg('BankAMSP', 'bank'), createTestOrg('BankBMSP', 'bank')]);
    const attestation = attestationBytes(attest(createTestLog(bankA, 2), 0));
    const good = rowsOf([bankA]);
    const joined = rowsOf([bankA, bankB]);
    // A row the bundle reader refuses: a revoked key with no end to its window.
    const refused: RegistrySnapshot = {
      ...joined,
      keys: [...joined.keys, { ...keyRow(bankB.mspId, generateTestKey(), 'receipt'), status: 'revoked' }],
    };
    const revoked: RegistrySnapshot = {
      ...joined,
      keys: joined.keys.map((key) =>
        key.kid === bankA.receiptKey.kid ? { ...key, status: 'revoked', validUntil: key.validFrom } : key,
      ),
    };
    const bundleErrors: unknown[] = [];
    const trust = registryTrust({
      chain: chainAnswering([good, refused, revoked]),
      channel: CHANNEL,
      onUnread: (err) => {
        throw err;
      },
      onBundleRefused: (err) => bundleErrors.push(err),
    });
    expect(trust.verifyAttestation(attestation)).toMatchObject({ ok: false, code: 'UNKNOWN_ISSUER' });

    const view = new RegistryView(await trust.registrySnapshot());
    expect(trust.verifyAttestation(attestation)).toMatchObject({ ok: true });

    // As startReportExchange's refresh does: the view follows the chain although the bundle cannot.
    view.replace(await trust.registrySnapshot());
    expect(view.peersOf(bankB.mspId)).toHaveLength(1);
    expect(bundleErrors).toHaveLength(1);
    expect(bundleErrors[0]).toBeInstanceOf(ReceiptsError);
    expect(bundleErrors[0]).toMatchObject({ code: 'INVALID_TRUST_BUNDLE' });
    // Attestations keep the last bundle built.
    expect(trust.verifyAttestation(attestation)).toMatchObject({ ok: true });

    view.replace(await trust.registrySnapshot());
    expect(bundleErrors).toHaveLength(1);
    expect(trust.verifyAttestation(attestation)).toMatchObject({ ok: false });
  });

  it('admits nobody while the first read fails, throws at every later failure, and keeps the last view', async () => {
    const bankA = await createTestOrg('BankAMSP', 'bank');
    const unread: unknown[] = [];
    const trust = registryTrust({
      chain: chainAnswering([
        new Error('ledger down'),
        new Error('chaincode still launching'),
        rowsOf([bankA]),
        new Error('ledger down again'),
      ]),
      channel: CHANNEL,
      onUnread: (err) => unread.push(err),
      onBundleRefused: (err) => {
        throw err;
      },
    });
    expect(await trust.registrySnapshot()).toEqual({ organizations: [], keys: [], nodes: [] });
    expect(unread).toEqual([new Error('ledger down')]);
    // A refresh's failure is thrown, not an empty registry: the follower and the upkeep read again (review29 C2).
    await expect(trust.registrySnapshot()).rejects.toThrow('chaincode still launching');
    expect((await trust.registrySnapshot()).organizations).toHaveLength(1);
    await expect(trust.registrySnapshot()).rejects.toThrow('ledger down again');
    expect(unread).toHaveLength(1);
  });
});
