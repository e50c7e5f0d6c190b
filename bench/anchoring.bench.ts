/**
 * Checkpoint anchoring on the embedded ledger through the official client: how many index entries per second an
 * agency commits with AnchorCheckpoint at 1,000 and 10,000 entries per transaction (the contract's maximum), and
 * how many GetIndexRecord lookups per second a bank gets with 64 in flight. Each entry is a distinct subject, the
 * worst case for the write set (chaincode/README.md: ~6.2 MB per 10,000 entries). Log growth, tree hashing and
 * proof generation happen before each timed submit; the timed span is endorse + order + commit.
 */
import { join } from 'node:path';
import { RecordLog, testUscc } from '../test/support/chaincode-log.ts';
import {
  AGENCY,
  BANK,
  lianxinMembers,
  onboardConsortium,
  registerLogNode,
  type LianxinClient,
  type LogNode,
} from '../test/support/chaincode-network.ts';
import { createTestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { runClosedLoop } from './closed-loop.ts';
import { BenchError } from './errors.ts';
import { startServerProcess } from './server-process.ts';

const LEDGER_CHILD_ENTRY = new URL('../test/support/ledger-child.ts', import.meta.url).pathname;
const BATCHES = [
  { entries: 1_000, transactions: 10 },
  { entries: 10_000, transactions: 3 },
] as const;
const LOOKUPS = { concurrency: 64, maxOperations: 200_000, maxDurationMs: 10_000 } as const;
const KIND = 'loan';

const benchmark: Benchmark = {
  name: 'anchoring',
  description:
    'AnchorCheckpoint index entries/s at 1,000 and 10,000 per transaction; GetIndexRecord lookups/s at 64 in flight',
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
        figures.push(...(await measureLookups(await net.as(BANK), anchorer.indexedSubjects, context)));
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
        JSON.stringify(this.#log.entries(previous)),
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

/** GetIndexRecord of random indexed subjects in a closed loop, checking each answer. */
async function measureLookups(bank: LianxinClient, subjects: number, context: BenchmarkContext): Promise<Figure[]> {
  const lookup = async (): Promise<boolean> => {
    const subject = testUscc(Math.floor(Math.random() * subjects));
    return (await bank.evaluate<{ subject: string }>('GetIndexRecord', subject, KIND)).subject === subject;
  };
  const result = await runClosedLoop(lookup, { ...LOOKUPS, signal: context.signal });
  context.log(`${result.succeeded} lookups, ${result.failed} failed in ${(result.elapsedMs / 1000).toFixed(1)} s`);
  return [
    {
      label: `GetIndexRecord, ${LOOKUPS.concurrency} in flight`,
      value: result.perSecond,
      unit: 'lookups/s',
      note: `${result.succeeded} over ${subjects.toLocaleString('en')} indexed subjects, ${result.failed} failed`,
    },
    { label: '  latency p50', value: result.p50Ms, unit: 'ms' },
    { label: '  latency p99', value: result.p99Ms, unit: 'ms' },
  ];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
