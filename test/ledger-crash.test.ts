/**
 * Crash safety (DESIGN §4): the ledger runs in a child process that is killed with SIGKILL while 64 submits are in
 * flight through the official client. After each kill the chain verifies, every commit status the client was told
 * is on the ledger with the block and code it was told, and the restarted ledger carries on the chain.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contract } from '@hyperledger/fabric-gateway';
import { openLedgerStore } from '../network/ledger/store/index.ts';
import { startLedgerProcess, type LedgerProcess } from './support/ledger-process.ts';
import { runScript } from './support/run-script.ts';
import { createTestConsortium, type TestConsortium } from './support/test-consortium.ts';

const IN_FLIGHT = 64;
/** Commits reported before each kill; the kill lands while the next ones are being ordered and written. */
const REPORTED_PER_ROUND = 120;
const ROUNDS = 3;
/**
 * Up to two of the orderer's 20 ms batch timeouts: the kill lands at a random point of the cut → validate →
 * write cycle rather than always just after a commit status went out.
 */
const KILL_JITTER_MS = 40;
/**
 * The test starts the ledger process ROUNDS + 1 times and pushes ≈ 400 transactions: ≈ 12 s alone on the 2-core
 * machine, 60–80 s while benches share it (bench/RESULTS.md, the helpers' full-suite runs). A crash-safety test,
 * not a speed one: it gets the time a loaded machine needs.
 */
const TEST_TIMEOUT_MS = 240_000;

interface Reported {
  readonly assetId: string;
  readonly blockNumber: bigint;
  readonly code: number;
}

let members: TestConsortium;
let dataRoot: string;
let running: LedgerProcess | undefined;

beforeAll(async () => {
  members = await createTestConsortium();
  dataRoot = join(members.dir, 'data');
});

afterAll(async () => {
  await running?.kill();
  await members.cleanup();
});

async function start(): Promise<LedgerProcess> {
  running = await startLedgerProcess(members, join(dataRoot, 'ledger'));
  return running;
}

/**
 * Keeps IN_FLIGHT submits going until `target` more commit statuses have been reported, then SIGKILLs the ledger.
 * Resolves with the errors seen before the kill (there must be none).
 */
async function submitUntilKilled(
  contract: Contract,
  ledger: LedgerProcess,
  round: number,
  reported: Map<string, Reported>,
  target: number,
): Promise<unknown[]> {
  const errorsBeforeKill: unknown[] = [];
  const killing = new AbortController();
  /** A call, not a property read: the kill happens while the workers await. */
  const killed = () => killing.signal.aborted;
  let next = 0;
  let reportedThisRound = 0;
  let reachedTarget: () => void = () => undefined;
  const targetReached = new Promise<void>((resolve) => (reachedTarget = resolve));
  const worker = async () => {
    while (!killed()) {
      try {
        const id = `crash-${String(round)}-${String(next++)}`;
        const commit = await contract.submitAsync('CreateAsset', { arguments: [id, 'red', '1', 'Tomoko', '1'] });
        const status = await commit.getStatus();
        reported.set(status.transactionId, { assetId: id, blockNumber: status.blockNumber, code: status.code });
        if (++reportedThisRound >= target) reachedTarget();
      } catch (err) {
        if (!killed()) {
          errorsBeforeKill.push(err);
          reachedTarget();
        }
        return;
      }
    }
  };
  const workers = Array.from({ length: IN_FLIGHT }, worker);
  await targetReached;
  await sleep(Math.random() * KILL_JITTER_MS);
  killing.abort();
  await ledger.kill();
  await Promise.all(workers);
  return errorsBeforeKill;
}

describe('kill -9 of the ledger process mid-stream', { timeout: TEST_TIMEOUT_MS }, () => {
  it('keeps every reported commit, verifies, and carries on the chain after restart', async () => {
    const reported = new Map<string, Reported>();
    let height = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ledger = await start();
      const connection = await members.connect(ledger.address, 'ShanghaiBankMSP');
      const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
      const errors = await submitUntilKilled(contract, ledger, round, reported, REPORTED_PER_ROUND);
      connection.close();
      expect(errors).toEqual([]);

      const verified = await runScript('verify-chain.ts', '--data-dir', dataRoot);
      expect(verified.stderr).toBe('');
      expect(verified.stdout).toMatch(/^chain OK: \d+ blocks\n$/);
      expect(verified.code).toBe(0);
      height = Number(/^chain OK: (\d+) blocks\n$/.exec(verified.stdout)?.[1]);

      const store = await openLedgerStore(join(dataRoot, 'ledger', 'ledger'));
      try {
        const onLedger = await Promise.all([...reported.keys()].map((txId) => store.getTxLocation(txId)));
        const asReported = [...reported.values()].map((r) => ({ blockNum: Number(r.blockNumber), code: r.code }));
        expect(onLedger.map((l) => l && { blockNum: l.blockNum, code: l.code })).toEqual(asReported);
      } finally {
        await store.close();
      }
    }
    expect(reported.size).toBeGreaterThanOrEqual(ROUNDS * REPORTED_PER_ROUND);
    expect([...reported.values()].every((r) => r.code === 0)).toBe(true);

    const ledger = await start();
    const connection = await members.connect(ledger.address, 'ShanghaiBankMSP');
    try {
      const contract = connection.gateway.getNetwork(members.consortium.channel).getContract('basic');
      const commit = await contract.submitAsync('CreateAsset', { arguments: ['after-crash', 'red', '1', 'Brad', '1'] });
      expect(await commit.getStatus()).toMatchObject({ successful: true, blockNumber: BigInt(height) });
      const [first] = reported.values();
      const read = await contract.evaluateTransaction('ReadAsset', first?.assetId ?? '');
      expect(JSON.parse(Buffer.from(read).toString())).toMatchObject({ ID: first?.assetId, Owner: 'Tomoko' });
    } finally {
      connection.close();
      await ledger.stop();
    }
    const verified = await runScript('verify-chain.ts', '--data-dir', dataRoot);
    expect(verified).toMatchObject({ code: 0, stderr: '' });
  });
});
