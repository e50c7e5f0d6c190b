/**
 * The embedded ledger through the official @hyperledger/fabric-gateway client (DESIGN §10: ≥ 1,000 endorsed and
 * committed tx/s with 64 in flight on 2 cores; issue 13: ≥ 1,500 tx/s, ledger ≤ 0.4 ms CPU per tx), against the
 * same machine's limits measured in the same run by bench/machine-limits.ts: raw grpc-js unary over the ledger's
 * own TLS on loopback, raw P-256 sign and verify (a submit costs the ledger three verifies and one sign). The
 * ledger runs in its own process on LevelDB in a temp dir, as it is deployed.
 * `LIANXIN_BENCH_BATCH_TIMEOUT_MS=<ms>` and `LIANXIN_BENCH_BATCH_MAX_MESSAGES=<n>` set the channel's BatchTimeout and
 * BatchSize.MaxMessageCount before the runs, by the config update `npm run network -- batch` makes; otherwise the
 * genesis block's defaults.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Contract } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import { ledgerNode } from '../network/consortium-ledger.ts';
import type { BatchOptions } from '../network/ledger/index.ts';
import { orgPaths } from '../network/pki/index.ts';
import { createTestConsortium, type TestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { BenchError } from './errors.ts';
import { runClosedLoop, type ClosedLoopOptions, type ClosedLoopResult } from './closed-loop.ts';
import { measureCpu } from './cpu-time.ts';
import { limitFigures, measureGrpc, measureP256, ratioToLimit, type MachineLimit } from './machine-limits.ts';
import { startLedgerProcess } from './server-process.ts';
import { channelBatchSettings } from '../scripts/network/batch-settings.ts';

const CLIENT_MSP = 'ShanghaiBankMSP';
const IN_FLIGHT = 64;
/** DESIGN §10's floor, and issue 13's target: tx/s at 64 in flight, and the ledger's CPU per tx. */
const TARGETS = { designTxPerS: 1_000, issue13TxPerS: 1_500, issue13LedgerCpuMsPerTx: 0.4 } as const;
/** Fabric submits are three unary calls: Endorse, Submit, CommitStatus (fabric-gateway-protocol §4.3–4.5). */
const UNARY_CALLS_PER_SUBMIT = 3;

/** Phase bounds: whichever of count and time comes first (the whole run stays well under 3 minutes). */
const PHASES = {
  submitWarmup: { concurrency: IN_FLIGHT, maxOperations: 1_000, maxDurationMs: 10_000 },
  submitSerial: { concurrency: 1, maxOperations: 500, maxDurationMs: 10_000 },
  submitConcurrent: { concurrency: IN_FLIGHT, maxOperations: 30_000, maxDurationMs: 20_000 },
  evaluate: { concurrency: IN_FLIGHT, maxOperations: 100_000, maxDurationMs: 10_000 },
} as const;

const ledgerBenchmark: Benchmark = {
  name: 'ledger',
  description: 'embedded ledger: submit/evaluate through the official Fabric Gateway client vs raw grpc-js unary',
  budgetMs: 170_000,
  async run(context) {
    const members = await createTestConsortium();
    try {
      const node = ledgerNode(members.consortium);
      const tls = orgPaths(members.cryptoDir, node.org.mspId);
      const peerTls = tls.node(node.peer).tls;
      const tlsRootCertPem = await readFile(tls.tlsca.cert, 'utf8');

      // The ledger's own TLS certificate and key, so that the echo pays for the same handshake and cipher.
      const grpcLimits = await measureGrpc(members.dir, context, {
        concurrency: IN_FLIGHT,
        tls: { certFile: peerTls.cert, keyFile: peerTls.key, rootCertPem: tlsRootCertPem, hostAlias: node.peer.host },
      });
      const unaryLimit = grpcLimits.unary;
      const p256 = measureP256(context);

      await using ledger = await startLedgerProcess([members.cryptoDir, join(members.dir, 'ledger')]);
      await using connection = await members.connect(ledger.address, CLIENT_MSP);
      const batch = await setBatch(members, ledger.address, batchSetting());
      const network = connection.gateway.getNetwork(members.consortium.channel);
      const basic = network.getContract('basic');
      const qscc = network.getContract('qscc');
      const height = async () => {
        const info = await qscc.evaluateTransaction('GetChainInfo', members.consortium.channel);
        return common.BlockchainInfo.deserializeBinary(info).getHeight();
      };
      const submit = (index: number) => createAsset(basic, index);

      const warmup = await phase(context, 'submit warm-up', submit, PHASES.submitWarmup);
      const serial = await phase(context, 'submit, 1 in flight', submit, {
        ...PHASES.submitSerial,
        firstIndex: warmup.nextIndex,
      });
      // Each process's main thread apart: what is left of its CPU is V8's GC helpers and libuv's pool.
      const processes = {
        client: process.pid,
        'client main thread': { mainThreadOf: process.pid },
        ledger: ledger.pid,
        'ledger main thread': { mainThreadOf: ledger.pid },
        'whole machine': 'machine',
      } as const;
      const heightBefore = await height();
      const concurrent = await measureCpu(processes, () =>
        phase(context, `submit, ${IN_FLIGHT} in flight`, submit, {
          ...PHASES.submitConcurrent,
          firstIndex: serial.nextIndex,
        }),
      );
      const blocks = (await height()) - heightBefore;
      // Reads cycle over the assets the warm-up created (all committed before the reads start).
      const evaluate = await measureCpu(processes, () =>
        phase(
          context,
          `evaluate, ${IN_FLIGHT} in flight`,
          async (index) => (await basic.evaluateTransaction('ReadAsset', assetId(index % warmup.succeeded))).length > 0,
          PHASES.evaluate,
        ),
      );

      const submitted = concurrent.value;
      const evaluated = evaluate.value;
      return [
        ...limitFigures(unaryLimit),
        ...limitFigures(p256.verify),
        ...limitFigures(p256.sign),
        { label: "the channel's BatchTimeout", value: batch.batchTimeoutMs, unit: 'ms' },
        { label: "the channel's BatchSize.MaxMessageCount", value: batch.maxTransactions, unit: 'tx' },
        ...latencyFigures('submit (endorse+submit+commit status), 1 in flight', 'tx/s', serial),
        ...latencyFigures(`submit (endorse+submit+commit status), ${IN_FLIGHT} in flight`, 'tx/s', submitted),
        {
          label: `  failed or invalid, ${IN_FLIGHT} in flight`,
          value: submitted.failed,
          unit: 'tx',
          ...(submitted.firstFailure === undefined ? {} : { note: describe(submitted.firstFailure) }),
        },
        { label: '  blocks committed', value: (blocks * 1000) / submitted.elapsedMs, unit: 'blocks/s' },
        {
          label: '  mean transactions per block',
          value: (submitted.succeeded + submitted.failed) / blocks,
          unit: 'tx',
        },
        ...cpuFigures('tx', concurrent.cpuMs, submitted),
        ...latencyFigures(`evaluate (ReadAsset), ${IN_FLIGHT} in flight`, 'evals/s', evaluated),
        ...cpuFigures('evaluate', evaluate.cpuMs, evaluated),
        {
          ...ratioToLimit('submit tx/s ÷ raw unary calls/s', submitted.perSecond, unaryLimit),
          note: `${UNARY_CALLS_PER_SUBMIT} unary calls per submit: the call-level share is ${percent((UNARY_CALLS_PER_SUBMIT * submitted.perSecond) / unaryLimit.perSecond)}`,
        },
        ratioToLimit('evaluate/s ÷ raw unary calls/s', evaluated.perSecond, unaryLimit),
        ...cpuRatios(concurrent.cpuMs, submitted, unaryLimit, p256.verify),
        ...targetFigures(submitted, concurrent.cpuMs.ledger),
      ];
    } finally {
      await members.cleanup();
    }
  },
};

export default ledgerBenchmark;

const assetId = (index: number) => `bench-asset-${index}`;

function batchSetting(): Partial<BatchOptions> {
  const setting = (name: string, max: number): number | undefined => {
    const text = process.env[name];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!(value > 0 && value <= max)) {
      throw new BenchError('BAD_SETTING', `${name} must be a number in (0, ${String(max)}], not "${text}"`);
    }
    return value;
  };
  const batchTimeoutMs = setting('LIANXIN_BENCH_BATCH_TIMEOUT_MS', 60_000);
  const maxTransactions = setting('LIANXIN_BENCH_BATCH_MAX_MESSAGES', 10_000);
  return {
    ...(batchTimeoutMs === undefined ? {} : { batchTimeoutMs }),
    ...(maxTransactions === undefined ? {} : { maxTransactions: Math.floor(maxTransactions) }),
  };
}

/** The channel's batch settings, after the config update asking for `change` (`network batch`'s). */
async function setBatch(
  members: TestConsortium,
  address: string,
  change: Partial<BatchOptions>,
): Promise<BatchOptions> {
  const { settings } = await channelBatchSettings({
    consortium: members.consortium,
    cryptoDir: members.cryptoDir,
    ledgerAddress: address,
    change,
  });
  return settings;
}

/** CreateAsset with a fresh key (no MVCC conflicts); succeeds only when the transaction committed VALID. */
async function createAsset(contract: Contract, index: number): Promise<boolean> {
  const submitted = await contract.submitAsync('CreateAsset', {
    arguments: [assetId(index), 'blue', '5', 'Tomoko', '300'],
  });
  return (await submitted.getStatus()).successful;
}

async function phase(
  context: BenchmarkContext,
  name: string,
  operation: (index: number) => Promise<boolean>,
  bounds: Omit<ClosedLoopOptions, 'signal'>,
): Promise<ClosedLoopResult> {
  const result = await runClosedLoop(operation, { ...bounds, signal: context.signal });
  context.log(
    `${name}: ${result.succeeded} ok, ${result.failed} failed in ${(result.elapsedMs / 1000).toFixed(1)} s ` +
      `→ ${result.perSecond.toFixed(0)}/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`,
  );
  return result;
}

function latencyFigures(label: string, unit: string, result: ClosedLoopResult): Figure[] {
  return [
    {
      label,
      value: result.perSecond,
      unit,
      note: `${result.succeeded} in ${(result.elapsedMs / 1000).toFixed(1)} s, ${result.failed} failed`,
    },
    { label: '  latency p50', value: result.p50Ms, unit: 'ms' },
    { label: '  latency p99', value: result.p99Ms, unit: 'ms', note: 'of every call, a failed one ranked slowest' },
  ];
}

/** The 64-in-flight submits against DESIGN §10's floor and issue 13's two targets (rate, and the ledger's CPU). */
function targetFigures(result: ClosedLoopResult, ledgerCpuMs: number | undefined): Figure[] {
  const ledgerMsPerTx = ledgerCpuMs === undefined ? NaN : ledgerCpuMs / result.succeeded;
  return [
    {
      label: `submit tx/s ÷ target ${TARGETS.designTxPerS.toLocaleString('en-US')} tx/s (DESIGN §10)`,
      value: result.perSecond / TARGETS.designTxPerS,
      unit: '×',
    },
    {
      label: `submit tx/s ÷ target ${TARGETS.issue13TxPerS.toLocaleString('en-US')} tx/s (issue 13)`,
      value: result.perSecond / TARGETS.issue13TxPerS,
      unit: '×',
      note: 'at least 1 meets it',
    },
    {
      label: `ledger CPU per tx ÷ target ${String(TARGETS.issue13LedgerCpuMsPerTx)} ms (issue 13)`,
      value: ledgerMsPerTx / TARGETS.issue13LedgerCpuMsPerTx,
      unit: '×',
      note: `${ledgerMsPerTx.toFixed(3)} ms per committed tx; at most 1 meets it`,
    },
  ];
}

/** Where the cores went during a phase: CPU ms per succeeded operation, and cores kept busy, per process. */
function cpuFigures(
  operation: string,
  cpuMs: Readonly<Record<string, number | undefined>>,
  result: ClosedLoopResult,
): Figure[] {
  return Object.entries(cpuMs).flatMap(([process, ms]) =>
    ms === undefined
      ? []
      : [
          {
            label: `  ${process} CPU per ${operation}`,
            value: ms / result.succeeded,
            unit: 'ms',
            note: `${(ms / result.elapsedMs).toFixed(2)} cores busy`,
          },
        ],
  );
}

/**
 * The same run's CPU per tx beside the limits' CPU per unit, which a loaded machine inflates alike: the ledger's
 * CPU per tx ÷ the client's (whose code the ledger's changes do not touch), in echo-server calls (each submit is
 * three) and in P-256 verifies (each submit needs three).
 */
function cpuRatios(
  cpuMs: Readonly<Record<string, number | undefined>>,
  result: ClosedLoopResult,
  unary: MachineLimit,
  verify: MachineLimit,
): Figure[] {
  const { ledger, client } = cpuMs;
  if (ledger === undefined || result.succeeded === 0) return [];
  const ledgerMicros = (ledger * 1000) / result.succeeded;
  const serverPerCall = unary.cpuMicrosPerUnit['echo server'];
  const perVerify = verify.cpuMicrosPerUnit['bench process'];
  return [
    ...(client === undefined
      ? []
      : [{ label: 'ledger CPU per tx ÷ client CPU per tx', value: ledger / client, unit: '×' }]),
    ...(serverPerCall === undefined
      ? []
      : [
          {
            label: 'ledger CPU per tx ÷ echo server CPU per unary call',
            value: ledgerMicros / serverPerCall,
            unit: '×',
            note: `${UNARY_CALLS_PER_SUBMIT} calls per submit`,
          },
        ]),
    ...(perVerify === undefined
      ? []
      : [
          {
            label: 'ledger CPU per tx ÷ CPU per raw P-256 verify',
            value: ledgerMicros / perVerify,
            unit: '×',
            note: '3 verifies per submit',
          },
        ]),
  ];
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
const describe = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
