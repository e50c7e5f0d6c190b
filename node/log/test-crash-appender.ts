/**
 * Test helper run as a child process: appends batches of `testLeaf`s to the log in the LevelDB at `argv[2]`
 * forever, printing `acked <size>` once each append resolves, so a test can SIGKILL it mid-write.
 */
import { Level } from 'level';
import { openTransparencyLog, p256LogSigner } from './index.ts';
import { newLogKey, ORIGIN, testLeaf } from './test-log.ts';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: test-crash-appender.ts <dir>');
const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
const log = await openTransparencyLog({
  db: db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
  origin: ORIGIN,
  signer: p256LogSigner(newLogKey()),
  checkpointLeaves: 500,
});
for (;;) {
  const from = log.size;
  // Batch sizes 1..97 that vary with the size, so kills land across partial and full tiles of several levels.
  const count = 1 + (from % 97);
  const { size } = await log.append(Array.from({ length: count }, (_, i) => testLeaf(from + i)));
  process.stdout.write(`acked ${size}\n`);
}
