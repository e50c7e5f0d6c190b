/** The ledger's optional mutual TLS: members' TLS client certificates are required and accepted. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../network/ledger/index.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';
import { startTestLedger } from './support/test-ledger.ts';

let members: TestConsortium;
let ledger: Ledger;

beforeAll(async () => {
  members = await createTestConsortium();
  ledger = await startTestLedger(members, { mutualTls: true });
});

afterAll(async () => {
  await ledger.stop();
  await members.cleanup();
});

const readAll = async (clientTls: boolean) => {
  const connection = await members.connect(ledger.address, 'HangzhouCreditMSP', 'User1', { clientTls });
  try {
    const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
    return Buffer.from(await contract.evaluateTransaction('GetAllAssets')).toString();
  } finally {
    connection.close();
  }
};

describe('mutual TLS', () => {
  it('serves a client presenting a TLS certificate from a member TLS CA', async () => {
    await expect(readAll(true)).resolves.toBe('[]');
  });

  it('refuses a client without a TLS certificate at the handshake', async () => {
    await expect(readAll(false)).rejects.toMatchObject({ code: 14 }); // UNAVAILABLE
  });
});
