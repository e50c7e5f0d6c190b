import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../pki/index.ts';
import type { ChaincodeConnection } from '../types.ts';
import { cachingClientIdentity, type ClientIdentityClass } from './client-identity-cache.ts';
import { startInProcessChaincode } from './index.ts';
import { createClientIdentity, invocationOf, MapState } from './testing.ts';

const require = createRequire(import.meta.url);
// The shim's own class: in-process.ts (loaded through ./index.ts) put the caching one into the shim's exports,
// which shares the original's prototype.
const ShimClientIdentity = (
  require('fabric-shim/lib/chaincode.js') as { ClientIdentity: { prototype: { constructor: ClientIdentityClass } } }
).ClientIdentity.prototype.constructor;
// The @fidm/x509 the shim parses creators with.
const x509 = createRequire(require.resolve('fabric-shim/lib/chaincode.js'))('@fidm/x509') as {
  Certificate: { fromPEM(pem: Buffer | string): unknown };
};

/** The PEM parses the shim does while `run` runs. */
async function countParses(run: () => Promise<void>): Promise<number> {
  const fromPEM = x509.Certificate.fromPEM.bind(x509.Certificate);
  let parses = 0;
  x509.Certificate.fromPEM = (pem) => {
    parses++;
    return fromPEM(pem);
  };
  try {
    await run();
  } finally {
    x509.Certificate.fromPEM = fromPEM;
  }
  return parses;
}

interface ShimIdentity {
  getID(): string;
  getMSPID(): string;
  getAttributeValue(name: string): string | null;
}

async function creatorWithAttrs(mspId: string, commonName: string) {
  const subject = (cn: string) => ({ commonName: cn, organization: mspId, locality: 'Test' });
  const ca = await issueCertificate({ subject: subject(`ca.${mspId}`), profile: { kind: 'ca' } });
  const leaf = await issueCertificate({
    subject: subject(commonName),
    profile: { kind: 'identity', nodeOU: 'client', attrs: { 'lianxin.role': 'reporter' } },
    issuer: ca,
  });
  // SerializedIdentity.id_bytes is the PEM, as the shim's stub hands it over.
  return { mspid: mspId, idBytes: Buffer.from(leaf.certificatePem) };
}

function stubOf(creator: { mspid: string; idBytes: Uint8Array }, txId: string) {
  return { getCreator: () => creator, getChannelID: () => 'credit', getTxID: () => txId };
}

describe('cachingClientIdentity', () => {
  it("gives a creator seen before exactly the shim's own instance: prototype, own fields and answers", async () => {
    const Caching = cachingClientIdentity(ShimClientIdentity);
    const alice = await creatorWithAttrs('Org1MSP', 'alice');
    const bob = await creatorWithAttrs('Org2MSP', 'bob');
    for (const [creator, txId] of [
      [alice, 'tx1'],
      [bob, 'tx2'],
      [alice, 'tx3'],
      [bob, 'tx4'],
    ] as const) {
      const stub = stubOf(creator, txId);
      const cached = new Caching(stub) as ShimIdentity & { stub: unknown; attrs: object };
      const parsed = new ShimClientIdentity(stub) as ShimIdentity & { attrs: object };
      expect(Object.getPrototypeOf(cached)).toBe(Object.getPrototypeOf(parsed));
      expect(cached).toBeInstanceOf(ShimClientIdentity);
      expect(Object.keys(cached)).toEqual(Object.keys(parsed));
      expect(cached).toEqual(parsed);
      expect(cached.stub).toBe(stub);
      expect(cached.getAttributeValue('lianxin.role')).toBe('reporter');
      expect(cached.getMSPID()).toBe(creator.mspid);
    }
  });

  it("gives each instance its own attrs: one transaction's change is not the next one's", async () => {
    const Caching = cachingClientIdentity(ShimClientIdentity);
    const alice = await creatorWithAttrs('Org1MSP', 'alice');
    const first = new Caching(stubOf(alice, 'tx1')) as { attrs: Record<string, string> };
    const second = new Caching(stubOf(alice, 'tx2')) as { attrs: Record<string, string> };
    second.attrs['lianxin.role'] = 'changed';
    const third = new Caching(stubOf(alice, 'tx3')) as { attrs: Record<string, string> };
    expect([first.attrs['lianxin.role'], third.attrs['lianxin.role']]).toEqual(['reporter', 'reporter']);
  });

  it('tells apart creators whose certificates end alike, and one certificate under two MSPs', async () => {
    const Caching = cachingClientIdentity(ShimClientIdentity);
    // The shim reads the PEM between its BEGIN and END lines: the same 64 trailing bytes on two certificates.
    const alike = (creator: { idBytes: Buffer }) => Buffer.concat([creator.idBytes, Buffer.from('\n'.repeat(64))]);
    const alice = alike(await creatorWithAttrs('Org1MSP', 'alice'));
    const bob = alike(await creatorWithAttrs('Org1MSP', 'bob'));
    const creators = [
      { mspid: 'Org1MSP', idBytes: alice },
      { mspid: 'Org1MSP', idBytes: bob },
      { mspid: 'Org2MSP', idBytes: bob },
    ];
    for (const creator of [...creators, ...creators]) {
      const stub = stubOf(creator, 'tx');
      expect(new Caching(stub)).toEqual(new ShimClientIdentity(stub));
    }
    // They take turns in one slot; the creator that holds it is still not parsed again.
    const last = stubOf({ mspid: 'Org2MSP', idBytes: bob }, 'tx');
    expect(
      await countParses(async () => {
        expect(new Caching(last)).toEqual(new ShimClientIdentity(last));
        await Promise.resolve();
      }),
    ).toBe(1);
  });
});

describe('in-process chaincode', () => {
  let connection: ChaincodeConnection;
  beforeAll(async () => {
    const { contracts } = require('./fixtures/index.js') as { contracts: (abstract new () => unknown)[] };
    connection = await startInProcessChaincode({ name: 'fixture', mspId: 'PeerOrgMSP', contracts });
  });
  afterAll(() => connection.close());

  it("parses a creator's certificate once, however many transactions it sends", async () => {
    const client = await createClientIdentity('Org1MSP', 'User1');
    const other = await createClientIdentity('Org2MSP', 'User2');
    const state = new MapState();
    const whoAmI = async (who: typeof client, seed: string) => {
      const result = await connection.execute(invocationOf(who, 'credit', 'fixture', ['WhoAmI'], seed), state);
      return JSON.parse(Buffer.from(result.response.payload).toString('utf8')) as { mspId: string; id: string };
    };
    const answers: { mspId: string; id: string }[] = [];
    const parses = await countParses(async () => {
      for (const seed of ['a', 'b', 'c']) answers.push(await whoAmI(client, seed));
      for (const seed of ['d', 'e']) answers.push(await whoAmI(other, seed));
    });
    expect(parses).toBe(2);
    expect(answers.map((a) => a.id)).toEqual([
      ...Array<string>(3).fill('x509::/C=CN/L=Test/O=Org1MSP/OU=client/CN=User1::/C=CN/L=Test/O=Org1MSP/CN=ca.Org1MSP'),
      ...Array<string>(2).fill('x509::/C=CN/L=Test/O=Org2MSP/OU=client/CN=User2::/C=CN/L=Test/O=Org2MSP/CN=ca.Org2MSP'),
    ]);
  });
});
