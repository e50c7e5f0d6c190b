/** Test fixtures: a consortium bootstrapped on a FakeLedger, a growing RFC 9162 log and its signed checkpoints. */
import './quiet-logs';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { expect } from 'vitest';
import { signP256 } from '../../network/crypto/index.ts';
import { LianxinContract } from '../src/contract';
import { ChaincodeError } from '../src/errors';
import { hashChildren, hashLeaf } from '../src/node-merkle';
import { formatCheckpointBody, formatSignatureLine } from '../src/signed-note';
import { FakeLedger, type IdentitySpec, type TxResult } from './fake-stub';

export const MSP = {
  operator: 'OperatorMSP',
  agency: 'ShanghaiAgencyMSP',
  agency2: 'HangzhouAgencyMSP',
  bank: 'NanjingBankMSP',
  platform: 'SupplyPlatformMSP',
  regulator: 'PbocMSP',
} as const;

export const USCC = {
  icbc: '91100000100003962T',
  huawei: '914403001922038216',
  alibaba: '91330100716105852F',
  legacy: '91350100M0001TGQXM',
} as const;
export const PEER_ID = '12D3KooWGzBxSSLwUjrY2Ecw1SHPA6CXiCy4oqiGd2iWkp3fHP1m';

export const admin = (mspId: string, role?: string): IdentitySpec => ({
  mspId,
  ou: 'admin',
  ...(role === undefined ? {} : { role }),
});
export const client = (mspId: string): IdentitySpec => ({ mspId, ou: 'client' });
export const operatorAdmin = admin(MSP.operator, 'operator');

export const digest = (label: string): string => createHash('sha256').update(label).digest('hex');

export interface LogKey {
  readonly privateKey: KeyObject;
  readonly spki: Buffer;
  readonly spkiBase64: string;
  readonly kid: string;
}

export function newLogKey(): LogKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privateKey,
    spki,
    spkiBase64: spki.toString('base64'),
    kid: createHash('sha256').update(spki).digest('hex'),
  };
}

/** Calls the contract as `identity`, parsing its canonical-JSON result. */
export class Harness {
  readonly ledger = new FakeLedger();
  readonly contract = new LianxinContract();

  async tx<T = Record<string, unknown>>(
    identity: IdentitySpec,
    fn: (c: LianxinContract, ctx: Context) => Promise<string>,
  ): Promise<TxResult<T>> {
    const out = await this.ledger.invoke(identity, (ctx) => fn(this.contract, ctx));
    return { ...out, result: JSON.parse(out.result) as T };
  }

  async call<T = Record<string, unknown>>(
    identity: IdentitySpec,
    fn: (c: LianxinContract, ctx: Context) => Promise<string>,
  ): Promise<T> {
    return (await this.tx<T>(identity, fn)).result;
  }

  /**
   * Asserts the transaction fails with `code`, wrote nothing before it failed, and left every key and value of the
   * world state as it was.
   *
   * Fabric discards the write set of a failed transaction, so a refused call could never change state on a real
   * peer, nor here (FakeLedger commits only on success). What this checks is the contract's own discipline: it
   * validates everything, then writes. A refusal after a write means a check runs too late, and the same ordering
   * would commit half a transaction the day a caller catches that error instead of letting it fail the
   * transaction. So the refused transaction's write set (FakeLedger.discardedWrites) must be empty, and the state
   * compared key by key and byte by byte, not by its size, catches anything committed behind the test's back.
   */
  async rejects(
    identity: IdentitySpec,
    fn: (c: LianxinContract, ctx: Context) => Promise<string>,
    code: string,
  ): Promise<ChaincodeError> {
    const before = stateSnapshot(this.ledger.state);
    let error: unknown;
    try {
      await this.ledger.invoke(identity, (ctx) => fn(this.contract, ctx));
    } catch (err) {
      error = err;
    }
    if (!(error instanceof ChaincodeError)) throw new Error(`expected ChaincodeError ${code}, got ${String(error)}`);
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.message}`);
    if (!error.message.startsWith(`${code}: `))
      throw new Error(`message does not lead with the code: ${error.message}`);
    const written = [...this.ledger.discardedWrites.keys()];
    if (written.length > 0)
      throw new Error(
        `the transaction refused with ${code} after writing ${written.map((k) => JSON.stringify(k)).join(', ')}`,
      );
    expect(stateSnapshot(this.ledger.state), 'world state after a refused transaction').toEqual(before);
    return error;
  }
}

/** Every key and value of the world state, in key order, values in hex so a difference reads in the diff. */
function stateSnapshot(state: ReadonlyMap<string, Buffer>): Array<[key: string, value: string]> {
  return [...state]
    .map(([key, value]): [string, string] => [key, value.toString('hex')])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Operator, two agencies, a bank, a platform and the regulator; the first agency has node "sh-1" with a log key. */
export async function createConsortium(): Promise<{ h: Harness; logKey: LogKey; origin: string }> {
  const h = new Harness();
  await h.call(operatorAdmin, (c, ctx) =>
    c.RegisterOrganization(ctx, MSP.operator, 'Consortium Operator', 'Shanghai', 'operator'),
  );
  const orgs: Array<[string, string, string]> = [
    [MSP.agency, 'Shanghai', 'agency'],
    [MSP.agency2, 'Hangzhou', 'agency'],
    [MSP.bank, 'Nanjing', 'bank'],
    [MSP.platform, 'Hefei', 'platform'],
    [MSP.regulator, 'Nanjing', 'regulator'],
  ];
  for (const [mspId, city, role] of orgs) {
    await h.call(operatorAdmin, (c, ctx) => c.RegisterOrganization(ctx, mspId, `${mspId} Ltd`, city, role));
  }
  await h.call(admin(MSP.agency), (c, ctx) =>
    c.RegisterNode(ctx, 'sh-1', 'node1.sh.example:7443', PEER_ID, '["/ip4/10.0.0.1/tcp/4001"]', '0'),
  );
  const logKey = newLogKey();
  await h.call(admin(MSP.agency), (c, ctx) =>
    c.RegisterKey(ctx, logKey.spkiBase64, 'log', 'ecdsa-p256-sha256', '', ''),
  );
  return { h, logKey, origin: `lianxin/${MSP.agency}/0` };
}

/** An in-memory RFC 9162 tree over leaf hashes, producing roots and consistency proofs (RFC 9162 §2.1.4.1). */
export class TestLog {
  readonly leafHashes: Uint8Array[] = [];

  append(data: string): { index: number; leafHash: string } {
    const leaf = hashLeaf(Buffer.from(data));
    this.leafHashes.push(leaf);
    return { index: this.leafHashes.length - 1, leafHash: Buffer.from(leaf).toString('hex') };
  }

  root(size = this.leafHashes.length): Uint8Array {
    return mth(this.leafHashes.slice(0, size));
  }

  consistency(size1: number, size2 = this.leafHashes.length): string[] {
    return subproof(size1, this.leafHashes.slice(0, size2), true).map((h) => Buffer.from(h).toString('base64'));
  }

  checkpoint(origin: string, key: LogKey, size = this.leafHashes.length, name = origin): string {
    const body = formatCheckpointBody(origin, BigInt(size), this.root(size));
    const sig = signP256(key.privateKey, Buffer.from(body));
    return `${body}\n${formatSignatureLine(name, Buffer.from(key.kid.slice(0, 8), 'hex'), sig)}`;
  }
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  const k = largestPowerOfTwoBelow(leaves.length);
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function subproof(m: number, leaves: Uint8Array[], complete: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [mth(leaves)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), mth(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}
