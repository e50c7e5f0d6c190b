/**
 * An anchor the node learns from the chain after a crash (issue 8). The node's process is SIGKILLed right after its
 * AnchorCheckpoint transaction commits, before it records the anchor (test/support/anchor-then-die.ts, the node's
 * own store, keys and ledger identity); restarted, the node takes the chain's record of the anchor, which keeps
 * the transaction ID but not the block. A bank's attestation names the block of its anchor: it must be the one the
 * transaction committed in, found again on the chain (qscc GetBlockByTxID), never a stand-in such as 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttestResponse__Output } from '../node/api/generated/lianxin/v1/AttestResponse.ts';
import type { RecordStatus__Output } from '../node/api/generated/lianxin/v1/RecordStatus.ts';
import { testUscc } from './support/chaincode-log.ts';
import { unary } from './support/grpc-unary.ts';
import type { ListeningChild } from './support/listening-child.ts';
import { startNodeProcess, writeNodeProcessConfig, type NodeProcessConfig } from './support/node-process.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const ANCHOR_THEN_DIE = new URL('./support/anchor-then-die.ts', import.meta.url).pathname;
const RECORDS = 5;

let net: TestNetwork;
let config: NodeProcessConfig;
let node: ListeningChild | undefined;

beforeAll(async () => {
  net = await startTestNetwork();
  config = await writeNodeProcessConfig(net, AGENCY);
});

afterAll(async () => {
  await node?.stop();
  await net[Symbol.asyncDispose]();
});

/** Runs anchor-then-die on the node's config; resolves with what committed once the process was killed. */
async function anchorThenDie(): Promise<{ transactionId: string; blockNumber: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ANCHOR_THEN_DIE, config.configFile, '0', String(RECORDS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  const committed = /^committed ([0-9a-f]{64}) (\d+)$/m.exec(stdout);
  if (signal !== 'SIGKILL' || !committed) {
    throw new Error(`anchor-then-die ended with ${String(code ?? signal)}: ${stdout}${stderr}`);
  }
  return { transactionId: committed[1] ?? '', blockNumber: Number(committed[2]) };
}

describe('an anchor the node learns from the chain after kill -9', () => {
  it("carries the block its transaction committed in into a bank's attestation", async () => {
    const { transactionId, blockNumber } = await anchorThenDie();
    expect(blockNumber).toBeGreaterThan(0);
    // The chain holds the anchor; the node's store does not.
    expect(await (await net.chain(BANK)).getCheckpoint(config.origin)).toMatchObject({
      size: String(RECORDS),
      txId: transactionId,
    });

    node = await startNodeProcess(config);
    const agency = new net.v1.RecordService(node.address, await net.credentials(AGENCY));
    const bank = new net.v1.AttestationService(node.address, await net.credentials(BANK));
    try {
      const subject = testUscc(RECORDS - 1);
      // The restarted node's anchorer reconciles with the chain before anchoring anything.
      let status: RecordStatus__Output | undefined;
      for (let tries = 0; tries < 100 && status?.state !== 'EVIDENCE_STATE_ANCHORED'; tries++) {
        if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        status = await unary<object, RecordStatus__Output>((req, cb) => agency.GetRecordStatus(req, cb), {
          subject,
          kind: 'loan',
          version: 1,
        });
      }
      expect(status).toMatchObject({ state: 'EVIDENCE_STATE_ANCHORED', anchor: { transactionId, blockNumber } });

      const answer = await unary<object, AttestResponse__Output>((req, cb) => bank.Attest(req, cb), {
        requestId: 'q1',
        record: { subject, kind: 'loan' },
      });
      expect(answer.attestation).toMatchObject({
        state: 'EVIDENCE_STATE_ANCHORED',
        anchor: { transactionId, blockNumber },
      });
      expect(node.stderr()).not.toMatch(/"level":(50|60)/);
    } finally {
      agency.close();
      bank.close();
    }
  });
});
