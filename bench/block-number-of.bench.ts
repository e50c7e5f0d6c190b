/**
 * What one `LianxinChain.blockNumberOf` costs: the lost-commit walk (node/ledger/lost-commits.ts) asks it before
 * every receipt and notarizer batch. Asked two ways on the embedded ledger in its own process, through the official
 * client over gRPC with TLS: as the node asks it (the chain given its gateway: the Gateway's CommitStatus, the block
 * number alone) and by qscc GetBlockByTxID alone (a chain without the gateway, as before: the whole block answered).
 * For a transaction in a small block (an anchor of one entry) and in a large one (an anchor of 10,000 entries, the
 * contract's maximum: the block a receipt transaction shares with a bulk anchor). Calls one at a time; CPU per call
 * of this process (the client) and of the ledger, and GetBlockByTxID's answer's size.
 */
import { join } from 'node:path';
import { encodeIndexEntries, scanIndexEntries } from '../chaincode/src/protocol.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { RecordLog, testUscc } from '../test/support/chaincode-log.ts';
import {
  AGENCY,
  CHAINCODE_NAME,
  lianxinMembers,
  onboardConsortium,
  registerLogNode,
  type LianxinMembers,
  type LogNode,
} from '../test/support/chaincode-network.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { startLedgerProcess } from './server-process.ts';

/** Index entries of the anchor whose block is asked for, and how long each question is asked (≥ MIN_CALLS). */
const BLOCKS = [
  { entries: 1, seconds: 3 },
  { entries: 10_000, seconds: 6 },
] as const;
const MIN_CALLS = 10;

const benchmark: Benchmark = {
  name: 'block-number-of',
  description:
    'LianxinChain.blockNumberOf by CommitStatus (as the node asks) and by GetBlockByTxID, on a small block and a 10,000-entry anchor block',
  budgetMs: 180_000,
  async run(context) {
    const members = await createTestConsortium();
    try {
      await using ledger = await startLedgerProcess([members.cryptoDir, join(members.dir, 'ledger'), 'lianxin']);
      const net = lianxinMembers(members, ledger.address);
      return await askBoth(net, ledger, context).finally(() => net.disconnect());
    } finally {
      await members.cleanup();
    }
  },
};

/** blockNumberOf both ways, for a transaction in each of BLOCKS, as the agency. */
async function askBoth(
  net: LianxinMembers,
  ledger: { readonly address: string; readonly pid: number },
  context: BenchmarkContext,
): Promise<Figure[]> {
  await using connection = await net.members.connect(ledger.address, AGENCY);
  await onboardConsortium(net);
  const node = await registerLogNode(net, AGENCY);
  const agency = await net.as(AGENCY);
  const chain = new LianxinChain(agency.network, CHAINCODE_NAME, connection.gateway);
  const byBlock = new LianxinChain(agency.network, CHAINCODE_NAME);
  const log = new RecordLog(node.origin);
  const channel = net.members.consortium.channel;
  const figures: Figure[] = [];
  for (const block of BLOCKS) {
    const transactionId = await anchor(chain, log, node, block.entries);
    const expected = await byBlock.blockNumberOf(transactionId);
    const answer = await agency.network
      .getContract('qscc')
      .evaluateTransaction('GetBlockByTxID', channel, transactionId);
    const asked = { ledgerPid: ledger.pid, expected, seconds: block.seconds, context };
    const of = `${block.entries.toLocaleString('en')}-entry anchor block`;
    figures.push(
      ...(await measure(`blockNumberOf by GetBlockByTxID, ${of}`, `answer ${answer.length} B`, asked, () =>
        byBlock.blockNumberOf(transactionId),
      )),
      ...(await measure(`blockNumberOf by CommitStatus, ${of}`, '', asked, () => chain.blockNumberOf(transactionId))),
    );
  }
  return figures;
}

export default benchmark;

/** Anchors `entries` more leaves of `log` in a transaction of its own; its ID. */
async function anchor(chain: LianxinChain, log: RecordLog, node: LogNode, entries: number): Promise<string> {
  const previous = log.size;
  for (let n = 0; n < entries; n++) log.append(testUscc(previous + n), 'loan', `record-${previous + n}`);
  const proof = previous === 0 ? [] : log.consistencyProof(previous).map((h) => Buffer.from(h, 'base64'));
  const indexEntries = scanIndexEntries(encodeIndexEntries(log.entries(previous)), 'lenient');
  const committed = await chain.anchorCheckpoint(log.checkpoint(node.key), proof, indexEntries);
  return committed.transactionId;
}

/** `ask` one call at a time for `asked.seconds` (after a warm-up): calls/s, and client and ledger CPU per call. */
async function measure(
  label: string,
  note: string,
  asked: { ledgerPid: number; expected: bigint; seconds: number; context: BenchmarkContext },
  ask: () => Promise<bigint>,
): Promise<Figure[]> {
  const once = async () => {
    const block = await ask();
    if (block !== asked.expected) {
      throw new BenchError('NOTHING_COMPLETED', `${label}: block ${block}, not ${asked.expected}`);
    }
  };
  for (let i = 0; i < 3; i++) await once();
  let calls = 0;
  const started = performance.now();
  const { cpuMs } = await measureCpu({ client: process.pid, ledger: asked.ledgerPid }, async () => {
    while (!asked.context.signal.aborted && (calls < MIN_CALLS || performance.now() - started < asked.seconds * 1000)) {
      await once();
      calls++;
    }
  });
  const wallMs = performance.now() - started;
  asked.context.log(`${label}: ${calls} calls in ${wallMs.toFixed(0)} ms`);
  return [
    { label, value: calls / (wallMs / 1000), unit: 'calls/s', note: `${calls} calls${note ? `, ${note}` : ''}` },
    { label: `${label}, client CPU per call`, value: ((cpuMs.client ?? NaN) * 1000) / calls, unit: 'µs' },
    { label: `${label}, ledger CPU per call`, value: ((cpuMs.ledger ?? NaN) * 1000) / calls, unit: 'µs' },
  ];
}
