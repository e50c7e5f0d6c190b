import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBackupEntries, verifyBackupArchive, writeBackupArchive } from './backup-archive.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-archive-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* from(entries: readonly [Buffer, Buffer][]): AsyncGenerator<[Buffer, Buffer]> {
  for (const entry of entries) yield await Promise.resolve(entry);
}

const FACTS = {
  kind: 'node' as const,
  identity: { mspId: 'HangzhouCreditMSP', origin: 'lianxin/HangzhouCreditMSP/0' },
};

/** Sublevel-shaped keys, values of every size from empty to past the reader's 1 MiB buffer. */
function sampleEntries(): [Buffer, Buffer][] {
  const entries: [Buffer, Buffer][] = [];
  for (let i = 0; i < 300; i++) {
    const sublevel = i % 3 === 0 ? 'log' : i % 3 === 1 ? 'records' : 'anchor';
    entries.push([Buffer.from(`!${sublevel}!${String(i).padStart(5, '0')}`), randomBytes(i * 17)]);
  }
  entries.push([Buffer.from('!records!big'), randomBytes(3 * 1024 * 1024)]);
  entries.push([Buffer.from('!records!empty'), Buffer.alloc(0)]);
  return entries;
}

async function readAll(file: string): Promise<[Buffer, Buffer][]> {
  const read: [Buffer, Buffer][] = [];
  for await (const entry of readBackupEntries(file)) read.push(entry);
  return read;
}

describe('backup archive', () => {
  it('reads back exactly the entries written, with their counts per sublevel', async () => {
    const entries = sampleEntries();
    const file = join(dir, 'a.backup');
    const written = await writeBackupArchive(file, FACTS, () => from(entries));
    expect(written).toMatchObject({ entries: 302, sublevels: { log: 100, records: 102, anchor: 100 }, ...FACTS });
    expect(await verifyBackupArchive(file)).toEqual(written);
    // As hex: a deep comparison of megabyte Buffers takes seconds.
    const hex = (list: [Buffer, Buffer][]) => list.map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);
    expect(hex(await readAll(file))).toEqual(hex(entries));
  });

  it('refuses a truncated archive', async () => {
    const file = join(dir, 'a.backup');
    await writeBackupArchive(file, FACTS, () => from(sampleEntries()));
    await truncate(file, 5000);
    await expect(verifyBackupArchive(file)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });

  it('refuses an archive whose entries were changed, lengths kept', async () => {
    const file = join(dir, 'a.backup');
    await writeBackupArchive(file, FACTS, () => from(sampleEntries()));
    const bytes = await readFile(file);
    // Inside the 3 MiB value: no length field is touched, only the digest can tell.
    const at = bytes.length - 1024 * 1024;
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    await writeFile(file, bytes);
    await expect(verifyBackupArchive(file)).rejects.toMatchObject({
      code: 'ARCHIVE_INVALID',
      message: expect.stringContaining('does not match its manifest') as unknown,
    });
  });

  // Each edit keeps the manifest's length, so the trailer still finds it.
  it.each([
    ['a kind that is not one', '"kind":"node"', '"kind":"nope"', '"kind"'],
    ['a log summary of a negative size', '"size":10', '"size":-1', '"log"'],
  ])('refuses a manifest with %s, naming the field', async (_, before, after, field) => {
    const file = join(dir, 'a.backup');
    await writeBackupArchive(
      file,
      FACTS,
      () => from([[Buffer.from('k'), Buffer.from('v')]]),
      () => ({ log: { size: 10 } }),
    );
    const text = (await readFile(file)).toString('latin1').replace(before, after);
    await writeFile(file, Buffer.from(text, 'latin1'));
    await expect(verifyBackupArchive(file)).rejects.toMatchObject({
      code: 'ARCHIVE_INVALID',
      message: expect.stringContaining(field) as unknown,
    });
  });

  it('refuses lengths that do not fit, before reading what they claim', async () => {
    const file = join(dir, 'a.backup');
    const written = await writeBackupArchive(file, FACTS, () => from([[Buffer.from('k'), Buffer.from('v')]]));
    const good = await readFile(file);
    /** The archive with the u32 at `at` (from the end when negative) set to `value`, and what reading it says. */
    const withU32 = async (at: number, value: number) => {
      const bytes = Buffer.from(good);
      bytes.writeUInt32BE(value, at < 0 ? bytes.length + at : at);
      await writeFile(file, bytes);
      return verifyBackupArchive(file).then(
        () => 'read',
        (err: unknown) => (err as Error).message,
      );
    };
    // The trailer's manifest length: 4 bytes before "LXBKEND\n".
    expect(await withU32(-12, 0xfffffff0)).toContain('a manifest length of 4294967280 bytes does not fit the file');
    // The first key's length, after "LXBACKUP" and the version byte; then its value's, after the 1-byte key.
    expect(await withU32(9, 64 * 1024 + 1)).toContain('a key of 65537 bytes, more than 65536');
    expect(await withU32(14, 128 * 1024 * 1024 + 1)).toContain('a value of 134217729 bytes, more than 134217728');
    expect(await withU32(14, 1000)).toContain('an entry runs past the end of the entries');
    expect(await withU32(14, 1)).toBe('read');
    expect(written.entries).toBe(1);
  });

  it("removes a partial file a dead process left at the destination, and not a live one's", async () => {
    const file = join(dir, 'a.backup');
    // Above Linux's largest pid_max (2^22): no process has it.
    const dead = `${file}.partial-${2 ** 22 + 1}`;
    const live = `${file}.partial-${process.ppid}`;
    await writeFile(dead, 'half a backup');
    await writeFile(live, 'a backup being written');
    await writeBackupArchive(file, FACTS, () => from([[Buffer.from('k'), Buffer.from('v')]]));
    expect((await readdir(dir)).sort()).toEqual(['a.backup', basename(live)]);
  });

  it("refuses a manifest whose counts per part are not the entries'", async () => {
    const file = join(dir, 'a.backup');
    await writeBackupArchive(file, FACTS, () => from(sampleEntries()));
    // Same length, so the trailer still finds the manifest: 100 log entries claimed as 109.
    const text = (await readFile(file)).toString('latin1').replace('"log":100', '"log":109');
    await writeFile(file, Buffer.from(text, 'latin1'));
    await expect(verifyBackupArchive(file)).rejects.toThrow('100 entries in part "log", the manifest says 109');
  });

  it('never replaces an existing file', async () => {
    const file = join(dir, 'a.backup');
    await writeFile(file, 'precious');
    await expect(writeBackupArchive(file, FACTS, () => from([]))).rejects.toMatchObject({ code: 'FILE_ERROR' });
    expect(await readFile(file, 'utf8')).toBe('precious');
  });

  it('dates the backup before its snapshot is taken, so nothing acknowledged before that time is missing', async () => {
    let snapshotAt = Number.NaN;
    async function* slowly(): AsyncGenerator<[Buffer, Buffer]> {
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield* from(sampleEntries());
    }
    const snapshot = () => {
      // A store's snapshot is taken as its entries are opened (its iterator created).
      snapshotAt = Date.now();
      return slowly();
    };
    const written = await writeBackupArchive(join(dir, 'a.backup'), FACTS, snapshot);
    expect(Date.parse(written.createdAt)).toBeLessThanOrEqual(snapshotAt);
  });
});
