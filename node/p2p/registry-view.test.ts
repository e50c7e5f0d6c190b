import { describe, expect, it } from 'vitest';
import type { RegistrySnapshot } from '../ledger/index.ts';
import { createTestOrg, organizationRow } from '../receipts/test-fixtures.ts';
import { registryRefresher, RegistryView } from './registry-view.ts';

const EMPTY: RegistrySnapshot = { organizations: [], keys: [], nodes: [] };

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('registryRefresher', () => {
  it('reads one at a time, so that a read begun before a suspension cannot land after the read that shows it', async () => {
    const bank = await createTestOrg('BankAMSP', 'bank');
    const active: RegistrySnapshot = { ...EMPTY, organizations: [organizationRow(bank)] };
    const suspended: RegistrySnapshot = {
      ...EMPTY,
      organizations: [{ ...organizationRow(bank), status: 'suspended' }],
    };
    const reads: PromiseWithResolvers<RegistrySnapshot>[] = [];
    const view = new RegistryView(EMPTY);
    const refresh = registryRefresher(view, () => {
      const read = Promise.withResolvers<RegistrySnapshot>();
      reads.push(read);
      return read.promise;
    });
    const first = refresh();
    // The suspension commits while the first read is under way; its event and the upkeep both ask again.
    const second = refresh();
    const third = refresh();
    // A second read begun now could answer first, and the first read's older answer, applied last, would stay.
    expect(reads).toHaveLength(1);
    reads[0]?.resolve(active);
    await first;
    expect(view.organization(bank.mspId)?.status).toBe('active');
    await settle();
    expect(reads).toHaveLength(2);
    reads[1]?.resolve(suspended);
    await Promise.all([second, third]);
    expect(view.organization(bank.mspId)?.status).toBe('suspended');
    expect(reads).toHaveLength(2);
  });

  it('runs the read asked for meanwhile after a read that failed', async () => {
    const reads: PromiseWithResolvers<RegistrySnapshot>[] = [];
    const refresh = registryRefresher(new RegistryView(EMPTY), () => {
      const read = Promise.withResolvers<RegistrySnapshot>();
      reads.push(read);
      return read.promise;
    });
    const first = refresh();
    const second = refresh();
    reads[0]?.reject(new Error('ledger down'));
    await expect(first).rejects.toThrow('ledger down');
    await settle();
    reads[1]?.resolve(EMPTY);
    await second;
    expect(reads).toHaveLength(2);
  });
});
