/**
 * The one key reader (review7 S11) and writer (C1) on real files: what every path — start, reload, rotation,
 * bootstrap — refuses, and what a reload that fails leaves (T6).
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFileOrNew, kidOfKey, newSigningKey, parseSigningKey, readPrivateKey, writeKeyFile } from './key-files.ts';
import { LiveNodeKeys } from './live-keys.ts';

let dir: string;
const pemOf = (curve: string): string =>
  generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lx-keys-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readPrivateKey', () => {
  it('refuses a key file open to the group or the world, naming the file and the chmod', async () => {
    const file = join(dir, 'open.key');
    await writeFile(file, pemOf('P-256'), { mode: 0o644 });
    await chmod(file, 0o644);
    await expect(readPrivateKey(file, 'keys.log')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: `"keys.log" ${file} is open to other users (mode 0644): a private key must be its owner's alone; run chmod 600 ${file}`,
    });
    await chmod(file, 0o640);
    await expect(readPrivateKey(file, 'keys.log')).rejects.toThrow('(mode 0640)');
    await chmod(file, 0o600);
    await expect(readPrivateKey(file, 'keys.log')).resolves.toBeDefined();
  });

  it('refuses two keys in one file, and a key of another curve', async () => {
    const two = join(dir, 'two.key');
    await writeFile(two, `${pemOf('P-256')}${pemOf('P-256')}`, { mode: 0o600 });
    await expect(readPrivateKey(two, 'keys.receipt')).rejects.toThrow(
      `"keys.receipt" ${two} does not hold one ECDSA P-256 PEM private key: 2 PEM blocks, not one`,
    );
    const p384 = join(dir, 'p384.key');
    await writeFile(p384, pemOf('P-384'), { mode: 0o600 });
    await expect(readPrivateKey(p384, 'keys.receipt')).rejects.toThrow('not an ECDSA P-256 key');
  });

  it('takes the EC PARAMETERS block openssl ecparam -genkey writes before the key', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const sec1 = key.export({ type: 'sec1', format: 'pem' }).toString();
    expect(kidOfKey(parseSigningKey(Buffer.from(params + sec1)))).toBe(kidOfKey(key));
  });
});

describe('writeKeyFile and keyFileOrNew', () => {
  it('writes 0600 and never replaces a file', async () => {
    const file = join(dir, 'new.key');
    await writeKeyFile(file, Buffer.from('first'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(writeKeyFile(file, Buffer.from('second'))).rejects.toMatchObject({ code: 'FILE_ERROR' });
    expect(await readFile(file, 'utf8')).toBe('first');
  });

  it('names a torn key file to remove, and creates one where none is', async () => {
    const torn = join(dir, 'log.key.next');
    await writeFile(torn, '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49', { mode: 0o600 });
    await expect(keyFileOrNew(torn, 'keys.log (pending)', parseSigningKey, newSigningKey)).rejects.toThrow(
      `remove ${torn} and run again`,
    );
    await rm(torn);
    const created = await keyFileOrNew(torn, 'keys.log (pending)', parseSigningKey, newSigningKey);
    expect(kidOfKey(await readPrivateKey(torn, 'keys.log'))).toBe(kidOfKey(created));
  });
});

describe('LiveNodeKeys.reload', () => {
  it('changes nothing when one of the key files cannot be taken', async () => {
    const files = { log: join(dir, 'live-log.key'), receipt: join(dir, 'live-receipt.key') };
    const [log, receipt] = [newSigningKey(), newSigningKey()];
    await writeKeyFile(files.log, log.bytes);
    await writeKeyFile(files.receipt, receipt.bytes);
    const keys = new LiveNodeKeys(files, log.key, receipt.key);
    const before = keys.ids;
    // A rotated log key installed, and a receipt key file left open to others.
    await rm(files.log);
    await writeKeyFile(files.log, newSigningKey().bytes);
    await chmod(files.receipt, 0o644);
    await expect(keys.reload()).rejects.toThrow('run chmod 600');
    expect(keys.ids).toEqual(before);
    expect(keys.logSigner.kid).toBe(before.logKid);
    await chmod(files.receipt, 0o600);
    expect((await keys.reload()).logKid).not.toBe(before.logKid);
  });
});
