/**
 * The one key reader (review7 S11) and writer (C1) on real files: what every path — start, reload, rotation,
 * bootstrap — refuses, and what a reload that fails leaves (T6).
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFileOrNew, kidOfKey, newSigningKey, readPrivateKey, SIGNING_KEY, writeKeyFile } from './key-files.ts';
import { checkInstallable } from './key-rotation.ts';
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
      message:
        `"keys.log" ${file} is open to other users (mode 0644): a private key must be its owner's alone (or, ` +
        `owned by root, readable by its group: 0640); run chmod 600 ${file} (a mounted Kubernetes Secret, ` +
        "read-only: give the volume defaultMode 0400, or 0440 with the pod's fsGroup)",
    });
    if (process.getuid?.() === 0) await chown(file, 4321, 4322);
    await chmod(file, 0o640);
    await expect(readPrivateKey(file, 'keys.log')).rejects.toThrow('(mode 0640)');
    await chmod(file, 0o600);
    await expect(readPrivateKey(file, 'keys.log')).resolves.toBeDefined();
  });

  it.runIf(process.getuid?.() === 0)(
    'takes a key file owned by root and readable by its group, as a Kubernetes Secret with fsGroup (review9 S4)',
    async () => {
      const file = join(dir, 'secret.key');
      await writeFile(file, pemOf('P-256'), { mode: 0o600 });
      await chown(file, 0, 4322);
      for (const mode of [0o640, 0o440]) {
        await chmod(file, mode);
        await expect(readPrivateKey(file, 'keys.log')).resolves.toBeDefined();
      }
      // Writable by the group, or readable by the world: refused even from root.
      for (const mode of [0o660, 0o604, 0o444]) {
        await chmod(file, mode);
        await expect(readPrivateKey(file, 'keys.log')).rejects.toThrow(`(mode 0${mode.toString(8)})`);
      }
    },
  );

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
    expect(kidOfKey(SIGNING_KEY.parse(Buffer.from(params + sec1)))).toBe(kidOfKey(key));
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

  it('never replaces a file that holds no usable key, and says what its caller says to do; creates one where none is', async () => {
    const torn = join(dir, 'log.key.next');
    await writeFile(torn, '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49', { mode: 0o600 });
    await expect(keyFileOrNew(torn, 'keys.log (pending)', SIGNING_KEY, 'do this')).rejects.toThrow(
      /^"keys.log \(pending\)" .* holds no usable key \(.*\): do this$/,
    );
    expect(await readFile(torn, 'utf8')).toContain('MIGHAgEAMBMGByqGSM49');
    await rm(torn);
    const created = await keyFileOrNew(torn, 'keys.log (pending)', SIGNING_KEY, 'do this');
    expect(kidOfKey(await readPrivateKey(torn, 'keys.log'))).toBe(kidOfKey(created));
  });
});

describe('checkInstallable', () => {
  it('refuses, before the chain, a rotation run by a user who could not give the new key file its owner (review9 S5)', async () => {
    const file = join(dir, 'installed.key');
    await writeKeyFile(file, newSigningKey().bytes);
    const { uid } = await stat(file);
    await expect(checkInstallable(file, uid + 1)).rejects.toMatchObject({
      code: 'FILE_ERROR',
      message: `${file} is owned by uid ${uid}, and this runs as uid ${uid + 1}: the new key file could not be given its owner; run keys rotate as the user the node runs as, or as root`,
    });
    // Its owner, or root: the group does not matter (the file is 0600).
    await expect(checkInstallable(file, uid)).resolves.toBeUndefined();
    await expect(checkInstallable(file, 0)).resolves.toBeUndefined();
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
