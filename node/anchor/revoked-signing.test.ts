import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PublicKeyRecord } from '../ledger/index.ts';
import { openTransparencyLog, p256LogSigner, type LogSigner, type TransparencyLog } from '../log/index.ts';
import { createLogger } from '../logging/index.ts';
import { openNodeDatabase, type NodeDatabase } from '../store/index.ts';
import { RevokedLogKeys } from './revoked-log-keys.ts';
import { RevokedSigning } from './revoked-signing.ts';

const MSP = 'HangzhouCreditMSP';
const ORIGIN = `lianxin/${MSP}/0`;

let dir: string;
let db: NodeDatabase;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-revoked-signing-'));
  db = await openNodeDatabase(dir);
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const newSigner = (): LogSigner => p256LogSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

/** The node's log on the test's database, signing with whatever `current` holds (as LiveNodeKeys.logSigner does). */
const openLog = (current: { signer: LogSigner }): Promise<TransparencyLog> =>
  openTransparencyLog({
    db: db.log,
    origin: ORIGIN,
    signer: {
      get kid() {
        return current.signer.kid;
      },
      get keyId() {
        return current.signer.keyId;
      },
      sign: (message) => current.signer.sign(message),
    },
    checkpointIntervalMs: 3_600_000,
  });

/** The organisation's revoked log keys as the registry lists `revoked`. */
async function revokedSet(...revoked: LogSigner[]): Promise<RevokedLogKeys> {
  const records = revoked.map((signer): PublicKeyRecord => ({
    mspId: MSP,
    kid: signer.kid,
    role: 'log',
    suite: 'ecdsa-p256-sha256',
    publicKey: '',
    validFrom: '2026-01-01T00:00:00.000Z',
    validUntil: '2026-06-01T00:00:00.000Z',
    status: 'revoked',
    replacedBy: null,
    registeredAt: '2026-01-01T00:00:00.000Z',
  }));
  const keys = await RevokedLogKeys.open({
    db: db.anchor,
    write: db.write,
    chain: { listKeys: () => Promise.resolve(records) },
    mspId: MSP,
    logger: createLogger({ level: 'silent' }),
    refreshMs: 60_000,
  });
  await keys.refresh();
  return keys;
}

describe('RevokedSigning', () => {
  it('signs a log that does not grow again with the fresh key once its key is revoked and rotated (review23 #2, #3)', async () => {
    const [compromised, fresh] = [newSigner(), newSigner()];
    const current = { signer: compromised };
    const log = await openLog(current);
    await log.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    const before = await log.checkpoint();
    const revoked = await revokedSet(compromised);
    const signing = new RevokedSigning({
      log,
      revoked,
      signer: {
        get kid() {
          return current.signer.kid;
        },
      },
      logger: createLogger({ level: 'silent' }),
    });

    // Revoked and still signing with it: the operator is told what to run; nothing is signed again with it.
    await signing.review();
    expect(signing.refusal).toContain('`lianxin keys rotate --kind log`');
    expect(log.latestCheckpoint()?.note).toBe(before?.note);

    // Rotated: the same tree head, signed by the fresh key, durable across a reopen.
    current.signer = fresh;
    await signing.review();
    expect(signing.refusal).toBeUndefined();
    const after = log.latestCheckpoint();
    expect(after).toMatchObject({ size: 3, rootHash: before?.rootHash });
    expect(revoked.signedByRevoked(after?.note ?? '')).toBe(false);
    await log.close();
    expect((await openLog(current)).latestCheckpoint()?.note).toBe(after?.note);
  });

  it('signs the latest checkpoint again once when two reviews are asked for at once (a reload and the set change)', async () => {
    const [compromised, fresh] = [newSigner(), newSigner()];
    const current = { signer: compromised };
    const opened = await openLog(current);
    await opened.append([Buffer.from('a')]);
    await opened.checkpoint();
    let signedAgain = 0;
    const log = {
      latestCheckpoint: () => opened.latestCheckpoint(),
      signLatestAgain: () => {
        signedAgain++;
        return opened.signLatestAgain();
      },
    };
    current.signer = fresh;
    const signing = new RevokedSigning({
      log,
      revoked: await revokedSet(compromised),
      signer: fresh,
      logger: createLogger({ level: 'silent' }),
    });
    await Promise.all([signing.review(), signing.review(), signing.review()]);
    expect(signedAgain).toBe(1);
    await opened.close();
  });
});
