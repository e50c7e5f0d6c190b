import { describe, expect, it } from 'vitest';
import { admin, client, createConsortium, Harness, MSP, newLogKey, operatorAdmin, PEER_ID } from './fixtures';

const addresses = '["/ip4/10.0.0.2/tcp/4001","/dns4/node.example/tcp/4001"]';

describe('bootstrap', () => {
  it('lets an operator admin register its own operator organisation first', async () => {
    const h = new Harness();
    const org = await h.call(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, MSP.operator, 'Operator', 'Shanghai', 'operator'));
    expect(org).toEqual({ mspId: MSP.operator, name: 'Operator', city: 'Shanghai', role: 'operator', status: 'active', registeredAt: '2026-03-01T00:00:00.000Z', updatedAt: '2026-03-01T00:00:00.000Z' });
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetSettings(ctx))).toEqual({ usccMode: 'strict' });
  });

  it.each([
    ['a non-admin', client(MSP.operator), MSP.operator, 'operator'],
    ['an admin without the operator role attribute', admin(MSP.operator), MSP.operator, 'operator'],
    ['an operator admin registering another organisation', operatorAdmin, MSP.bank, 'bank'],
    ['an operator admin registering a non-operator role', operatorAdmin, MSP.operator, 'bank'],
  ])('refuses %s on an empty registry', async (_name, who, mspId, role) => {
    const h = new Harness();
    await h.rejects(who, (c, ctx) => c.RegisterOrganization(ctx, mspId, 'X', 'Y', role), 'BOOTSTRAP_REQUIRED');
  });

  it('reports an empty registry on GetSettings', async () => {
    await new Harness().rejects(client(MSP.bank), (c, ctx) => c.GetSettings(ctx), 'BOOTSTRAP_REQUIRED');
  });
});

describe('organisations', () => {
  it('onboards organisations only through the operator admin', async () => {
    const { h } = await createConsortium();
    await h.rejects(admin(MSP.bank, 'operator'), (c, ctx) => c.RegisterOrganization(ctx, 'NewMSP', 'New', 'Suzhou', 'bank'), 'FORBIDDEN');
    await h.rejects(client(MSP.operator), (c, ctx) => c.RegisterOrganization(ctx, 'NewMSP', 'New', 'Suzhou', 'bank'), 'FORBIDDEN');
    await h.rejects(admin(MSP.operator), (c, ctx) => c.RegisterOrganization(ctx, 'NewMSP', 'New', 'Suzhou', 'bank'), 'FORBIDDEN');
    await h.rejects(admin('StrangerMSP', 'operator'), (c, ctx) => c.RegisterOrganization(ctx, 'NewMSP', 'New', 'Suzhou', 'bank'), 'FORBIDDEN');
    await h.rejects(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, MSP.bank, 'Again', 'Suzhou', 'bank'), 'ORG_EXISTS');
    const org = await h.call(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, 'SuzhouBankMSP', 'Suzhou Bank', 'Suzhou', 'bank'));
    expect(org).toMatchObject({ mspId: 'SuzhouBankMSP', role: 'bank', status: 'active' });
    // An MSP ID shaped like a USCC: a notarization naming it as a party would take it for an enterprise.
    const err = await h.rejects(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, 'AB123456CDEFGHJKLM', 'New', 'Suzhou', 'bank'), 'INVALID_ARGUMENT');
    expect(err.message).toContain('"mspId" must not be shaped like a Unified Social Credit Code');
  });

  it.each([
    ['mspId', '1BadMSP', 'N', 'C', 'bank'],
    ['name', 'OkMSP', '', 'C', 'bank'],
    ['name', 'OkMSP', ' padded', 'C', 'bank'],
    ['city', 'OkMSP', 'N', 'x'.repeat(101), 'bank'],
    ['role', 'OkMSP', 'N', 'C', 'supervisor'],
  ])('validates "%s"', async (field, mspId, name, city, role) => {
    const { h } = await createConsortium();
    const err = await h.rejects(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, mspId, name, city, role), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });

  it('lets only an organisation admin update its own name and city', async () => {
    const { h } = await createConsortium();
    await h.rejects(client(MSP.bank), (c, ctx) => c.UpdateOrganization(ctx, 'Renamed', 'Nanjing'), 'FORBIDDEN');
    h.ledger.now += 1000;
    const org = await h.call(admin(MSP.bank), (c, ctx) => c.UpdateOrganization(ctx, 'Renamed', 'Suzhou'));
    expect(org).toMatchObject({ mspId: MSP.bank, name: 'Renamed', city: 'Suzhou', updatedAt: '2026-03-01T00:00:01.000Z' });
    expect(await h.call(client(MSP.agency), (c, ctx) => c.GetOrganization(ctx, MSP.bank))).toEqual(org);
  });

  it('suspends and reactivates organisations; a suspended organisation can do nothing', async () => {
    const { h } = await createConsortium();
    await h.rejects(admin(MSP.bank), (c, ctx) => c.SetOrganizationStatus(ctx, MSP.agency, 'suspended'), 'FORBIDDEN');
    await h.rejects(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, MSP.operator, 'suspended'), 'FORBIDDEN');
    await h.rejects(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, MSP.bank, 'paused'), 'INVALID_ARGUMENT');
    await h.rejects(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, 'GhostMSP', 'suspended'), 'ORG_NOT_FOUND');
    expect(await h.call(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, MSP.bank, 'suspended'))).toMatchObject({ status: 'suspended' });
    await h.rejects(admin(MSP.bank), (c, ctx) => c.UpdateOrganization(ctx, 'N', 'C'), 'ORG_SUSPENDED');
    expect(await h.call(operatorAdmin, (c, ctx) => c.SetOrganizationStatus(ctx, MSP.bank, 'active'))).toMatchObject({ status: 'active' });
    await h.call(admin(MSP.bank), (c, ctx) => c.UpdateOrganization(ctx, 'N', 'C'));
  });

  it('reports unknown organisations and lists all of them in pages', async () => {
    const { h } = await createConsortium();
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetOrganization(ctx, 'GhostMSP'), 'ORG_NOT_FOUND');
    const first = await h.call<{ items: Array<{ mspId: string }>; bookmark: string }>(client(MSP.bank), (c, ctx) => c.ListOrganizations(ctx, '4', ''));
    expect(first.items).toHaveLength(4);
    expect(first.bookmark).not.toBe('');
    const second = await h.call<{ items: Array<{ mspId: string }>; bookmark: string }>(client(MSP.bank), (c, ctx) => c.ListOrganizations(ctx, '4', first.bookmark));
    expect(second).toMatchObject({ bookmark: '' });
    expect([...first.items, ...second.items].map((o) => o.mspId)).toEqual(Object.values(MSP).sort());
  });

  it('enforces the page size bounds', async () => {
    const { h } = await createConsortium();
    for (const size of ['0', '201', 'ten', '-1']) {
      const err = await h.rejects(client(MSP.bank), (c, ctx) => c.ListOrganizations(ctx, size, ''), 'INVALID_ARGUMENT');
      expect(err.message).toContain('"pageSize"');
    }
    const page = await h.call<{ items: unknown[] }>(client(MSP.bank), (c, ctx) => c.ListOrganizations(ctx, '', ''));
    expect(page.items).toHaveLength(6);
  });

  it('lets only the operator admin switch USCC checking to lenient', async () => {
    const { h } = await createConsortium();
    await h.rejects(admin(MSP.agency), (c, ctx) => c.SetUsccMode(ctx, 'lenient'), 'FORBIDDEN');
    await h.rejects(operatorAdmin, (c, ctx) => c.SetUsccMode(ctx, 'loose'), 'INVALID_ARGUMENT');
    const { result, events, txId } = await h.tx(operatorAdmin, (c, ctx) => c.SetUsccMode(ctx, 'lenient'));
    expect(result).toEqual({ usccMode: 'lenient' });
    // Nodes re-read the registry on it, as on every registry write.
    expect(events).toEqual([{ name: 'RegistryChanged', payload: { mspId: MSP.operator, kind: 'settings', txId } }]);
  });
});

describe('nodes', () => {
  it('registers a node with its log origin lianxin/<MSP>/<shard>', async () => {
    const { h, origin } = await createConsortium();
    const node = await h.call(client(MSP.bank), (c, ctx) => c.GetNode(ctx, MSP.agency, 'sh-1'));
    expect(node).toMatchObject({ mspId: MSP.agency, nodeId: 'sh-1', endpoint: 'node1.sh.example:7443', peerId: PEER_ID, shard: '0', origin });
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RegisterNode(ctx, 'sh-1', 'a.example:1', PEER_ID, addresses, '1'), 'NODE_EXISTS');
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RegisterNode(ctx, 'sh-2', 'a.example:1', PEER_ID, addresses, '0'), 'ORIGIN_TAKEN');
    await h.rejects(client(MSP.agency), (c, ctx) => c.RegisterNode(ctx, 'sh-2', 'a.example:1', PEER_ID, addresses, '1'), 'FORBIDDEN');
    await h.call(admin(MSP.agency), (c, ctx) => c.RegisterNode(ctx, 'sh-2', 'a.example:1', PEER_ID, addresses, '1'));
    const page = await h.call<{ items: Array<{ nodeId: string }> }>(client(MSP.bank), (c, ctx) => c.ListNodes(ctx, MSP.agency, '10', ''));
    expect(page.items.map((n) => n.nodeId)).toEqual(['sh-1', 'sh-2']);
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetOrigin(ctx, `lianxin/${MSP.agency}/1`))).toEqual({ origin: `lianxin/${MSP.agency}/1`, mspId: MSP.agency, nodeId: 'sh-2' });
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetOrigin(ctx, `lianxin/${MSP.agency}/7`), 'ORIGIN_NOT_FOUND');
  });

  it('updates its own node only', async () => {
    const { h } = await createConsortium();
    const node = await h.call(admin(MSP.agency), (c, ctx) => c.UpdateNode(ctx, 'sh-1', 'new.sh.example:9443', PEER_ID, addresses));
    expect(node).toMatchObject({ endpoint: 'new.sh.example:9443', addresses: ['/ip4/10.0.0.2/tcp/4001', '/dns4/node.example/tcp/4001'], origin: `lianxin/${MSP.agency}/0` });
    await h.rejects(admin(MSP.bank), (c, ctx) => c.UpdateNode(ctx, 'sh-1', 'x.example:1', PEER_ID, addresses), 'NODE_NOT_FOUND');
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetNode(ctx, MSP.agency, 'sh-9'), 'NODE_NOT_FOUND');
  });

  it.each([
    ['nodeId', 'Bad_Id', 'a.example:1', PEER_ID, addresses, '1'],
    ['endpoint', 'n2', 'no-port', PEER_ID, addresses, '1'],
    ['endpoint', 'n2', 'a.example:70000', PEER_ID, addresses, '1'],
    ['peerId', 'n2', 'a.example:1', 'not-a-peer-id', addresses, '1'],
    ['addresses', 'n2', 'a.example:1', PEER_ID, '[]', '1'],
    ['addresses', 'n2', 'a.example:1', PEER_ID, '{', '1'],
    ['addresses[0]', 'n2', 'a.example:1', PEER_ID, '["ip4/1.2.3.4"]', '1'],
    ['shard', 'n2', 'a.example:1', PEER_ID, addresses, 'A/B'],
  ])('validates "%s"', async (field, nodeId, endpoint, peerId, addrs, shard) => {
    const { h } = await createConsortium();
    const err = await h.rejects(admin(MSP.agency), (c, ctx) => c.RegisterNode(ctx, nodeId, endpoint, peerId, addrs, shard), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });
});

describe('keys', () => {
  it('registers a P-256 key named by the SHA-256 of its SPKI', async () => {
    const { h, logKey } = await createConsortium();
    const key = await h.call(client(MSP.bank), (c, ctx) => c.GetKey(ctx, MSP.agency, logKey.kid));
    expect(key).toEqual({
      mspId: MSP.agency, kid: logKey.kid, role: 'log', suite: 'ecdsa-p256-sha256', publicKey: logKey.spkiBase64,
      validFrom: '2026-03-01T00:00:00.000Z', validUntil: null, status: 'active', replacedBy: null, registeredAt: '2026-03-01T00:00:00.000Z',
    });
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RegisterKey(ctx, logKey.spkiBase64, 'log', 'ecdsa-p256-sha256', '', ''), 'KEY_EXISTS');
    await h.rejects(client(MSP.agency), (c, ctx) => c.RegisterKey(ctx, newLogKey().spkiBase64, 'receipt', 'ecdsa-p256-sha256', '', ''), 'FORBIDDEN');
    await h.rejects(client(MSP.bank), (c, ctx) => c.GetKey(ctx, MSP.bank, logKey.kid), 'KEY_NOT_FOUND');
  });

  it('accepts an explicit validity window', async () => {
    const { h } = await createConsortium();
    const key = await h.call(admin(MSP.bank), (c, ctx) => c.RegisterKey(ctx, newLogKey().spkiBase64, 'receipt', 'ecdsa-p256-sha256', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'));
    expect(key).toMatchObject({ role: 'receipt', validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2027-01-01T00:00:00.000Z' });
  });

  it.each([
    ['role', newLogKey().spkiBase64, 'tls', 'ecdsa-p256-sha256', '', ''],
    ['suite', newLogKey().spkiBase64, 'log', 'sm2-sm3', '', ''],
    ['publicKey', 'not base64!', 'log', 'ecdsa-p256-sha256', '', ''],
    ['publicKey', Buffer.from('not a key').toString('base64'), 'log', 'ecdsa-p256-sha256', '', ''],
    ['validFrom', newLogKey().spkiBase64, 'log', 'ecdsa-p256-sha256', '2026-02-30T00:00:00Z', ''],
    ['validUntil', newLogKey().spkiBase64, 'log', 'ecdsa-p256-sha256', '2026-05-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    ['validUntil', newLogKey().spkiBase64, 'log', 'ecdsa-p256-sha256', '', 'tomorrow'],
  ])('validates "%s"', async (field, publicKey, role, suite, from, until) => {
    const { h } = await createConsortium();
    const err = await h.rejects(admin(MSP.agency), (c, ctx) => c.RegisterKey(ctx, publicKey, role, suite, from, until), 'INVALID_ARGUMENT');
    expect(err.message).toContain(`"${field}"`);
  });

  it('rotation keeps the old key with a closed window and links it to its successor', async () => {
    const { h, logKey } = await createConsortium();
    const next = newLogKey();
    h.ledger.now += 60_000;
    const rotated = await h.call(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, logKey.kid, next.spkiBase64));
    expect(rotated).toMatchObject({ kid: next.kid, role: 'log', status: 'active', validFrom: '2026-03-01T00:01:00.000Z', validUntil: null });
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetKey(ctx, MSP.agency, logKey.kid))).toMatchObject({
      status: 'rotated', validFrom: '2026-03-01T00:00:00.000Z', validUntil: '2026-03-01T00:01:00.000Z', replacedBy: next.kid,
    });
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, logKey.kid, newLogKey().spkiBase64), 'KEY_NOT_ACTIVE');
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, next.kid, next.spkiBase64), 'KEY_EXISTS');
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, next.kid, 'AAAA'), 'INVALID_ARGUMENT');
    await h.rejects(admin(MSP.bank), (c, ctx) => c.RotateKey(ctx, next.kid, newLogKey().spkiBase64), 'KEY_NOT_FOUND');
    const keys = await h.call<{ items: Array<{ kid: string }> }>(client(MSP.bank), (c, ctx) => c.ListKeys(ctx, MSP.agency, '10', ''));
    expect(keys.items.map((k) => k.kid).sort()).toEqual([logKey.kid, next.kid].sort());
  });

  it('rotation with an overlap keeps the old key valid until then, the new one from the transaction', async () => {
    const { h, logKey } = await createConsortium();
    const next = newLogKey();
    h.ledger.now += 60_000;
    const rotated = await h.call(admin(MSP.agency), (c, ctx) => c.RotateKeyWithOverlap(ctx, logKey.kid, next.spkiBase64, '120'));
    expect(rotated).toMatchObject({ kid: next.kid, status: 'active', validFrom: '2026-03-01T00:01:00.000Z', validUntil: null });
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetKey(ctx, MSP.agency, logKey.kid))).toMatchObject({
      status: 'rotated', validUntil: '2026-03-01T00:03:00.000Z', replacedBy: next.kid,
    });
    // Inside its overlap the old key is still valid, but it has a successor: no second rotation of it.
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKeyWithOverlap(ctx, logKey.kid, newLogKey().spkiBase64, '0'), 'KEY_NOT_ACTIVE');
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, logKey.kid, newLogKey().spkiBase64), 'KEY_NOT_ACTIVE');
  });

  it('rotation with the default overlap gives the old key 300 s; revoking it in the overlap ends it now', async () => {
    const { h, logKey } = await createConsortium();
    const next = newLogKey();
    await h.call(admin(MSP.agency), (c, ctx) => c.RotateKeyWithOverlap(ctx, logKey.kid, next.spkiBase64, ''));
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetKey(ctx, MSP.agency, logKey.kid))).toMatchObject({ validUntil: '2026-03-01T00:05:00.000Z' });
    h.ledger.now += 10_000;
    expect(await h.call(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, logKey.kid))).toMatchObject({ status: 'revoked', validUntil: '2026-03-01T00:00:10.000Z' });
  });

  it('an overlap never extends the window the old key was registered with', async () => {
    const { h } = await createConsortium();
    const bounded = newLogKey();
    await h.call(admin(MSP.agency), (c, ctx) => c.RegisterKey(ctx, bounded.spkiBase64, 'receipt', 'ecdsa-p256-sha256', '', '2026-03-01T00:01:00Z'));
    await h.call(admin(MSP.agency), (c, ctx) => c.RotateKeyWithOverlap(ctx, bounded.kid, newLogKey().spkiBase64, '3600'));
    expect(await h.call(client(MSP.bank), (c, ctx) => c.GetKey(ctx, MSP.agency, bounded.kid))).toMatchObject({ validUntil: '2026-03-01T00:01:00.000Z' });
  });

  it.each(['86401', '-1', '1.5', ' 60', '0x10', 'forever'])('refuses the overlap %j', async (overlap) => {
    const { h, logKey } = await createConsortium();
    const err = await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKeyWithOverlap(ctx, logKey.kid, newLogKey().spkiBase64, overlap), 'INVALID_ARGUMENT');
    expect(err.message).toContain('"overlapSeconds"');
  });

  it('emits RegistryChanged for every change to nodes and keys, so that nodes need not poll', async () => {
    const { h, logKey } = await createConsortium();
    const { events } = await h.ledger.invoke(admin(MSP.agency), (ctx) => h.contract.RotateKeyWithOverlap(ctx, logKey.kid, newLogKey().spkiBase64, '60'));
    expect(events).toEqual([{ name: 'RegistryChanged', payload: { mspId: MSP.agency, kind: 'key', txId: expect.any(String) as unknown } }]);
  });

  it('revocation closes the window now and cannot be repeated', async () => {
    const { h, logKey } = await createConsortium();
    h.ledger.now += 5_000;
    expect(await h.call(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, logKey.kid))).toMatchObject({ status: 'revoked', validUntil: '2026-03-01T00:00:05.000Z' });
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, logKey.kid), 'KEY_NOT_ACTIVE');
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RotateKey(ctx, logKey.kid, newLogKey().spkiBase64), 'KEY_NOT_ACTIVE');
    await h.rejects(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, 'zz'), 'INVALID_ARGUMENT');
  });

  it('revoking a key before its window starts leaves it the empty window validFrom..validFrom, not one that ends first', async () => {
    const { h } = await createConsortium();
    const future = newLogKey();
    await h.call(admin(MSP.agency), (c, ctx) => c.RegisterKey(ctx, future.spkiBase64, 'receipt', 'ecdsa-p256-sha256', '2026-04-01T00:00:00Z', ''));
    h.ledger.now += 5_000;
    expect(await h.call(admin(MSP.agency), (c, ctx) => c.RevokeKey(ctx, future.kid))).toMatchObject({
      status: 'revoked', validFrom: '2026-04-01T00:00:00.000Z', validUntil: '2026-04-01T00:00:00.000Z',
    });
  });
});
