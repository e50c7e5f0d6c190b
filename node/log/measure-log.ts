/**
 * Measures the log on this machine (not a test): append rate for 1M 100-byte leaves in synced batches of 1,000,
 * then proof and root rates at that size. Run: `npx tsx node/log/measure-log.ts [leaves]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { openTransparencyLog, p256LogSigner } from './index.ts';
import { newLogKey, ORIGIN, prng } from './test-log.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const BATCH = 1_000;
const dir = await mkdtemp(join(tmpdir(), 'tlog-measure-'));
const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
try {
  const log = await openTransparencyLog({
    db: db.sublevel<Buffer, Buffer>('log', { keyEncoding: 'buffer', valueEncoding: 'buffer' }),
    origin: ORIGIN,
    signer: p256LogSigner(newLogKey()),
  });
  const pool = randomBytes(100 * BATCH * 4);
  let started = performance.now();
  for (let next = 0; next < total; next += BATCH) {
    const offset = (next / BATCH) % 4;
    await log.append(
      Array.from({ length: BATCH }, (_, i) =>
        pool.subarray((offset * BATCH + i) * 100, (offset * BATCH + i + 1) * 100),
      ),
    );
  }
  report('append (synced batches of 1,000)', total, started);

  const random = prng(7);
  const PROOFS = 20_000;
  started = performance.now();
  for (let i = 0; i < PROOFS; i++) await log.inclusionProof(random(total), total);
  report('inclusion proof at the full size', PROOFS, started);
  started = performance.now();
  for (let i = 0; i < PROOFS; i++) {
    const size2 = 1 + random(total);
    await log.inclusionProof(random(size2), size2);
  }
  report('inclusion proof at a random older size', PROOFS, started);
  started = performance.now();
  for (let i = 0; i < PROOFS; i++) await log.consistencyProof(1 + random(total), total);
  report('consistency proof to the full size', PROOFS, started);
  started = performance.now();
  for (let i = 0; i < PROOFS; i++) await log.root(1 + random(total));
  report('root of a random size', PROOFS, started);
  started = performance.now();
  const worker = async (): Promise<void> => {
    for (let i = 0; i < PROOFS / 16; i++) await log.inclusionProof(random(total), total);
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  report('inclusion proof at the full size, 16 concurrent callers', PROOFS, started);
  await log.close();
} finally {
  await db.close();
  await rm(dir, { recursive: true, force: true });
}

function report(what: string, count: number, since: number): void {
  const seconds = (performance.now() - since) / 1000;
  console.log(
    `${what}: ${count.toLocaleString('en')} in ${seconds.toFixed(2)} s = ${Math.round(count / seconds).toLocaleString('en')}/s`,
  );
}
