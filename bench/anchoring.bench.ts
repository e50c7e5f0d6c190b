/**
 * Checkpoint anchoring on the embedded ledger through the official client: how many index entries per second an
 * agency commits with AnchorCheckpoint at 1,000 and 10,000 entries per transaction (the contract's maximum), and
 * how fast a node that joins late builds its chain index from the chain. Each entry is a distinct subject. Log growth, tree hashing and
 * proof generation happen before each timed submit; the timed span is endorse + order + commit.
 */
import { join } from 'node:path';
import { encodeIndexEntries, scanIndexEntries } from '../chaincode/src/protocol.ts';
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
import { measureCpu } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { startLedgerProcess } from './server-process.ts';

const BATCHES = [
  // One entry per transaction: what an anchor costs the ledger whatever its size (the intercept of the two below).
  // Run first, it also warms the ledger process: a fresh one's first ten anchors cost ≈ 1.8× the later ones
  // (bench/RESULTS.md, issue 13: anchorfixed), which the 1,000-entry figure used to average in.
  { entries: 1, transactions: 40 },
  { entries: 1_000, transactions: 20 },
  { entries: 10_000, transactions: 10 },
] as const;

/**
 * `LIANXIN_BENCH_ANCHOR_ENTRIES=10000` runs only the batches of that many entries (e.g. to profile the ledger); alone,
 * a batch then runs on a cold ledger process.
 */
function batches(): readonly { readonly entries: number; readonly transactions: number }[] {
  const only = process.env.LIANXIN_BENCH_ANCHOR_ENTRIES;
  if (only === undefined || only === '') return BATCHES;
  const chosen = BATCHES.filter((batch) => String(batch.entries) === only);
  if (chosen.length === 0)
    throw new BenchError(
      'BAD_SETTING',
      `LIANXIN_BENCH_ANCHOR_ENTRIES must be one of ${BATCHES.map((b) => b.entries).join(', ')}`,
    );
  return chosen;
}
const KIND = 'loan';

const benchmark: Benchmark = {
  name: 'anchoring',
  description:
    'AnchorCheckpoint index entries/s at 1, 1,000 and 10,000 per transaction; chain index catch-up entries/s',
  budgetMs: 300_000,
  async run(context) {
    const members = await createTestConsortium();
    try {
      // The ledger (with the chaincode in-process, as on a peer) gets its own process and core, as deployed.
      await using ledger = await startLedgerProcess([members.cryptoDir, join(members.dir, 'ledger'), 'lianxin']);
      const net = lianxinMembers(members, ledger.address);
      try {
        await onboardConsortium(net);
        const node = await registerLogNode(net, AGENCY);
        const anchorer = new Anchorer(node, await net.as(AGENCY), ledger.pid);
        const figures: Figure[] = [];
        for (const batch of batches())
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
  readonly #chain: LianxinChain;
  readonly #ledgerPid: number;
  #anchored = 0;

  constructor(node: LogNode, agency: LianxinClient, ledgerPid: number) {
    this.#log = new RecordLog(node.origin);
    this.#node = node;
    this.#chain = new LianxinChain(agency.network, CHAINCODE_NAME);
    this.#ledgerPid = ledgerPid;
  }

  /** Subjects indexed so far: one per anchored leaf. */
  get indexedSubjects(): number {
    return this.#anchored;
  }

  async measure(entries: number, transactions: number, context: BenchmarkContext): Promise<Figure[]> {
    const latencies: number[] = [];
    // The ledger's CPU over the timed spans only (endorse + order + commit), not while the bench builds the next
    // checkpoint: what one anchored entry costs the ledger, whatever else shares the cores.
    let ledgerCpuMs = 0;
    for (let i = 0; i < transactions && !context.signal.aborted; i++) {
      const previous = this.#anchored;
      for (let n = 0; n < entries; n++) this.#log.append(testUscc(previous + n), KIND, `record-${previous + n}`);
      const note = this.#log.checkpoint(this.#node.key);
      const proof = previous === 0 ? [] : this.#log.consistencyProof(previous).map((h) => Buffer.from(h, 'base64'));
      // Encoded and checked as the anchorer hands them over (node/anchor: bytes from the log, scanned by the codec).
      const indexEntries = scanIndexEntries(encodeIndexEntries(this.#log.entries(previous)), 'lenient');
      const started = performance.now();
      // As nodes send them (LianxinChain): the entries' binary encoding as transient data, not an argument.
      const { cpuMs } = await measureCpu({ ledger: this.#ledgerPid }, () =>
        this.#chain.anchorCheckpoint(note, proof, indexEntries),
      );
      latencies.push(performance.now() - started);
      ledgerCpuMs += cpuMs.ledger ?? NaN;
      this.#anchored = this.#log.size;
      // Each transaction's own ledger CPU (10 ms ticks of /proc): shows the first anchors' warm-up apart from the rest.
      context.log(
        `anchored ${entries} entries in ${latencies.at(-1)?.toFixed(0) ?? '?'} ms, ledger CPU ${cpuMs.ledger ?? '?'} ms (log size ${this.#anchored})`,
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
      {
        label: `${label}, ledger CPU per entry`,
        value: (ledgerCpuMs * 1000) / (entries * latencies.length),
        unit: 'µs/entry',
        note: `${(ledgerCpuMs / latencies.length).toFixed(0)} ms per tx (endorse + order + commit)`,
      },
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
