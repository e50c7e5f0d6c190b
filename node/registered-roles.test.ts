import { describe, expect, it } from 'vitest';
import { ChainError } from './ledger/index.ts';
import { registeredRoles } from './registered-roles.ts';

type Org = Awaited<ReturnType<Parameters<typeof registeredRoles>[0]['chain']['getOrganization']>>;

describe('registeredRoles', () => {
  const org = (mspId: string, role: 'bank' | 'agency', status = 'active') =>
    ({ mspId, role, status }) as unknown as Org;

  it('answers from the registry, refusing suspended organisations, and caches briefly', async () => {
    let now = 0;
    let calls = 0;
    const registry = new Map([
      ['ShanghaiBankMSP', org('ShanghaiBankMSP', 'bank')],
      ['HefeiCreditMSP', org('HefeiCreditMSP', 'agency', 'suspended')],
    ]);
    const resolve = registeredRoles({
      chain: { getOrganization: (mspId) => (calls++, Promise.resolve(registry.get(mspId))) },
      own: { mspId: 'HangzhouCreditMSP', role: 'agency' },
      now: () => now,
    });
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    expect(await resolve('HefeiCreditMSP')).toBeUndefined();
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    expect(calls).toBe(2);
    now = 60_000;
    registry.delete('ShanghaiBankMSP');
    expect(await resolve('ShanghaiBankMSP')).toBeUndefined();
  });

  it("keeps the last answer and the node's own configured role while the ledger does not answer", async () => {
    let now = 0;
    let up = true;
    const resolve = registeredRoles({
      chain: {
        getOrganization: (mspId) =>
          up
            ? Promise.resolve(org(mspId, 'bank'))
            : Promise.reject(new ChainError('UNAVAILABLE', '14 UNAVAILABLE: No connection established')),
      },
      own: { mspId: 'HangzhouCreditMSP', role: 'agency' },
      now: () => now,
    });
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    up = false;
    now = 60_000;
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    expect(await resolve('HangzhouCreditMSP')).toBe('agency');
    await expect(resolve('HefeiCreditMSP')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('shares one registry lookup among the calls that arrive while it runs, and looks up again after it', async () => {
    let calls = 0;
    let answer = Promise.withResolvers<Org>();
    const resolve = registeredRoles({
      chain: { getOrganization: () => (calls++, answer.promise) },
      own: { mspId: 'HangzhouCreditMSP', role: 'agency' },
      now: () => 0,
    });
    const lookUp = () => Promise.resolve(resolve('ShanghaiBankMSP'));
    const refused = [lookUp(), lookUp()];
    answer.reject(new ChainError('REJECTED', 'chaincode response 500, BAD'));
    for (const call of refused) await expect(call).rejects.toMatchObject({ code: 'REJECTED' });
    expect(calls).toBe(1);
    answer = Promise.withResolvers<Org>();
    const answered = [lookUp(), lookUp(), lookUp()];
    answer.resolve(org('ShanghaiBankMSP', 'bank'));
    expect(await Promise.all(answered)).toEqual(['bank', 'bank', 'bank']);
    expect(calls).toBe(2);
  });

  it('answers with the known role while the ledger hangs, asking it once', async () => {
    let now = 0;
    let hang = false;
    let calls = 0;
    const resolve = registeredRoles({
      chain: {
        getOrganization: (mspId) => {
          calls++;
          return hang ? new Promise<Org>(() => undefined) : Promise.resolve(org(mspId, 'bank'));
        },
      },
      own: { mspId: 'HangzhouCreditMSP', role: 'agency' },
      now: () => now,
    });
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    hang = true;
    now = 60_000;
    // The lookup never settles: a call that waited for it would never end (the test times out).
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    expect(await resolve('ShanghaiBankMSP')).toBe('bank');
    expect(calls).toBe(2);
  });

  it('does not stand in for a registry that answered with a refusal', async () => {
    const resolve = registeredRoles({
      chain: { getOrganization: () => Promise.reject(new ChainError('REJECTED', 'chaincode response 500, BAD')) },
      own: { mspId: 'HangzhouCreditMSP', role: 'agency' },
    });
    await expect(resolve('HangzhouCreditMSP')).rejects.toMatchObject({ code: 'REJECTED' });
  });
});
