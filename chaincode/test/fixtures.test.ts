/** The harness's own checks must be able to fail: a refusal that wrote, or state that changed, is caught. */
import { describe, expect, it } from 'vitest';
import { ChaincodeError } from '../src/errors';
import { createConsortium, MSP, operatorAdmin } from './fixtures';

describe('Harness.rejects', () => {
  it('passes for a refusal that wrote nothing and left state as it was', async () => {
    const { h } = await createConsortium();
    const error = await h.rejects(operatorAdmin, (c, ctx) => c.GetOrganization(ctx, 'NoSuchMSP'), 'ORG_NOT_FOUND');
    expect(error).toMatchObject({ code: 'ORG_NOT_FOUND' });
  });

  it('fails for a transaction that wrote a key before it refused, although the write is never committed', async () => {
    const { h } = await createConsortium();
    const refusal = h.rejects(operatorAdmin, async (_c, ctx) => {
      await ctx.stub.putState('written-then-refused', Buffer.from('v'));
      throw new ChaincodeError('INVALID_ARGUMENT', '"x" checked after a write');
    }, 'INVALID_ARGUMENT');
    await expect(refusal).rejects.toThrow('the transaction refused with INVALID_ARGUMENT after writing "written-then-refused"');
    expect(h.ledger.state.has('written-then-refused')).toBe(false);
  });

  it('fails when a value changed while the refused call ran, even with the same number of keys', async () => {
    const { h } = await createConsortium();
    const [key] = h.ledger.state.keys();
    if (key === undefined) throw new Error('the consortium has no state');
    const size = h.ledger.state.size;
    const refusal = h.rejects(operatorAdmin, async () => {
      await h.ledger.invoke(operatorAdmin, (ctx) => ctx.stub.putState(key, Buffer.from('changed behind the test')));
      throw new ChaincodeError('FORBIDDEN', `${MSP.bank} may not`);
    }, 'FORBIDDEN');
    await expect(refusal).rejects.toThrow('world state after a refused transaction');
    expect(h.ledger.state.size).toBe(size);
  });
});
