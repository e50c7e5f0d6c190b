/**
 * Checkpoint anchoring on the embedded ledger through the official client: how many index entries per second an
 * agency commits with AnchorCheckpoint at 1,000 and 10,000 entries per transaction (the contract's maximum), and
 * how fast a node that joins late builds its chain index from the chain. Each entry is a distinct subject. Log growth, tree hashing and
 * proof generation happen before each timed submit; the timed span is endorse + order + commit.
 */
import { join } from 'node:path';
import { encodeIndexEntries } from '../chaincode/src/protocol.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { RecordLog, testUscc } from '../test/support/chaincode-log.ts';
import {
  AGENCY,
  BANK,
  CHAINCODE_NAME,
  lianxinMembers,
  onboardConsortium,
  registerLogNode,
  type LianxinClient,
  type LogNode,
} from '../test/support/chaincode-network.ts';
import { eventually } from '../test/support/eventually.ts';
import { withChainIndex } from '../test/support/follow-chain-index.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { BenchError } from './errors.ts';
import { startServerProcess } from './server-process.ts';

const LEDGER_CHILD_ENTRY = new URL('../test/support/ledger-child.ts', import.meta.url).pathname;
const BATCHES = [
  { entries: 1_000, transactions: 10 },
  { entries: 10_000, transactions: 6 },
] as const;
const KIND = 'loan';

const benchmark: Benchmark = {
  name: 'anchoring',
  description: 'AnchorCheckpoint index entries/s at 1,000 and 10,000 per transaction; chain index catch-up entries/s',
  budgetMs: 300_000,
  async run(context) {
    const members = await createTestConsortium();
    try {
      // The ledger (with the chaincode in-process, as on a peer) gets its own process and core, as deployed.
      await using ledger = await startServerProcess(LEDGER_CHILD_ENTRY, [
        members.cryptoDir,
        join(members.dir, 'ledger'),
        'lianxin',
      ]);
      const net = lianxinMembers(members, ledger.address);
      try {
        await onboardConsortium(net);
        const node = await registerLogNode(net, AGENCY);
        const anchorer = new Anchorer(node, await net.as(AGENCY));
        const figures: Figure[] = [];
        for (const batch of BATCHES)
          figures.push(...(await anchorer.measure(batch.entries, batch.transactions, context)));
        figures.push(...(await measureCatchUp(await net.as(BANK), members.dir, anchorer.indexedSubjects, context)));
        return figures;
      } finally {
        await net.disconnect();
      }
    } finally {
      await members.cleanup();
    }
  },
};

export default benchmark;

class Anchorer {
  readonly #log: RecordLog;
  readonly #node: LogNode;
  readonly #agency: LianxinClient;
  #anchored = 0;

  constructor(node: LogNode, agency: LianxinClient) {
    this.#log = new RecordLog(node.origin);
    this.#node = node;
    this.#agency = agency;
  }

  /** Subjects indexed so far: one per anchored leaf. */
  get indexedSubjects(): number {
    return this.#anchored;
  }

  async measure(entries: number, transactions: number, context: BenchmarkContext): Promise<Figure[]> {
    const latencies: number[] = [];
    for (let i = 0; i < transactions && !context.signal.aborted; i++) {
      const previous = this.#anchored;
      for (let n = 0; n < entries; n++) this.#log.append(testUscc(previous + n), KIND, `record-${previous + n}`);
      const args = [
        this.#log.checkpoint(this.#node.key),
        JSON.stringify(previous === 0 ? [] : this.#log.consistencyProof(previous)),
        // As nodes send them: the binary encoding (chaincode/src/index-entry-codec.ts) in base64.
        encodeIndexEntries(this.#log.entries(previous)).toString('base64'),
      ];
      const started = performance.now();
      await this.#agency.submit('AnchorCheckpoint', ...args);
      latencies.push(performance.now() - started);
      this.#anchored = this.#log.size;
      context.log(
        `anchored ${entries} entries in ${latencies.at(-1)?.toFixed(0) ?? '?'} ms (log size ${this.#anchored})`,
      );
    }
    if (latencies.length === 0)
      throw new BenchError('NOTHING_COMPLETED', `no AnchorCheckpoint of ${entries} entries completed`);
    const seconds = latencies.reduce((a, b) => a + b, 0) / 1000;
    const label = `AnchorCheckpoint, ${entries.toLocaleString('en')} entries/tx`;
    return [
      {
        label,
        value: (entries * latencies.length) / seconds,
        unit: 'entries/s',
        note: `${latencies.length} tx, committed`,
      },
      { label: `${label}, latency (median)`, value: median(latencies), unit: 'ms' },
    ];
  }
}

/**
 * A node joining late: a fresh chain index follows the chain from block 0 and applies every anchor (events, then
 * one GetIndexEntries per anchor, then one LevelDB batch per anchor). Timed until the last entry is applied.
 */
async function measureCatchUp(
  bank: LianxinClient,
  dir: string,
  entries: number,
  context: BenchmarkContext,
): Promise<Figure[]> {
  const started = performance.now();
  const record = await withChainIndex(new LianxinChain(bank.network, CHAINCODE_NAME), dir, (index) =>
    eventually(() => index.getIndexRecord(testUscc(entries - 1), KIND), { timeoutMs: 120_000, intervalMs: 5 }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (record.version !== 1) throw new BenchError('NOTHING_COMPLETED', `entry applied ${record.version} times`);
  context.log(`chain index caught up with ${entries} entries in ${seconds.toFixed(2)} s`);
  return [
    {
      label: 'chain index catch-up from block 0',
      value: entries / seconds,
      unit: 'entries/s',
      note: `${entries.toLocaleString('en')} entries in ${seconds.toFixed(2)} s`,
    },
  ];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
