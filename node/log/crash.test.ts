import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { verifyConsistency } from '../../chaincode/src/protocol.ts';
import { describe, expect, it } from 'vitest';
import { openTransparencyLog, p256LogSigner } from './index.ts';
import { newLogKey, openTestDatabase, ORIGIN, referenceLeafHash, referenceRoot, testLeaf } from './test-log.ts';

const APPENDER = fileURLToPath(new URL('./test-crash-appender.ts', import.meta.url));

/** Runs the appender on `dir` until it has acknowledged `acks` appends, then SIGKILLs it; resolves to the last size acked. */
async function appendUntilKilled(dir: string, acks: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', APPENDER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let seen = 0;
  let lastAcked = 0;
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`appender exited early with ${String(code)}`));
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const match of chunk.matchAll(/acked (\d+)/g)) {
        lastAcked = Number(match[1]);
        seen += 1;
      }
      if (seen >= acks) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await exited;
  return lastAcked;
}

describe('transparency log after a crash', () => {
  it('keeps every acknowledged append and a tree, checkpoint and proofs consistent with its size after SIGKILL mid-append', async () => {
    await using testDb = await openTestDatabase();
    const signer = p256LogSigner(newLogKey());
    const sizes: number[] = [];
    for (const acks of [40, 25]) {
      await testDb.close();
      const acked = await appendUntilKilled(testDb.dir, acks);
      await testDb.reopen();
      const log = await openTransparencyLog({ db: testDb.logDb(), origin: ORIGIN, signer });
      try {
        expect(log.size).toBeGreaterThanOrEqual(acked);
        const hashes = Array.from({ length: log.size }, (_, i) => referenceLeafHash(testLeaf(i)));
        expect(await log.root()).toEqual(Buffer.from(referenceRoot(hashes)));
        expect(await log.leaves(0, log.size)).toEqual(Array.from({ length: log.size }, (_, i) => testLeaf(i)));
        const checkpoint = log.latestCheckpoint();
        expect(checkpoint?.size).toBeLessThanOrEqual(log.size);
        const previous = sizes.at(-1);
        if (previous !== undefined) {
          verifyConsistency(
            BigInt(previous),
            BigInt(log.size),
            await log.root(previous),
            await log.root(),
            await log.consistencyProof(previous, log.size),
          );
        }
        sizes.push(log.size);
      } finally {
        await log.close();
      }
    }
  });
});
