/**
 * `npm run bench -- node-rss`: the resident memory of one institution node run as operators run it — its own
 * process started by `node/daemon/main.ts` from its node.yaml, the embedded ledger with the Lianxin chaincode in
 * another process — idle, after 1,000,000 records acknowledged, and once they are all anchored (issue 9: target
 * < 150 MiB idle per node). RSS is read from /proc (bench/rss-sampler.ts), split into anonymous pages (heap,
 * Buffers: what a leak grows) and file-backed pages (LevelDB's mmapped tables, reclaimable).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { LedgerConnection } from '../network/client/index.ts';
import { orgPaths } from '../network/pki/index.ts';
import { lianxinV1 } from '../node/api/index.ts';
import {
  consortiumLedger,
  registerNode,
  registerOrganizations,
  writeLocalNodeConfig,
} from '../node/bootstrap/index.ts';
import { LianxinChain } from '../node/ledger/index.ts';
import { AGENCY, CHAINCODE_NAME, quietChaincodeLogs } from '../test/support/chaincode-network.ts';
import { startDaemon } from '../test/support/node-daemon-process.ts';
import { createTestConsortium, type TestConsortium } from '../test/support/test-consortium.ts';
import type { Benchmark } from './benchmark.ts';
import { runClosedLoop } from './closed-loop.ts';
import { BenchError } from './errors.ts';
import { ingestBatch, recordBatch } from './ingest-batch.ts';
import { heapMetrics, waitAnchored, type HeapMetrics } from './node-metrics.ts';
import { startRssSampler, type RssSample } from './rss-sampler.ts';
import { startLedgerProcess } from './server-process.ts';

const RECORDS = 1_000_000;
const BATCH_RECORDS = 1_000;
const CONCURRENCY = 4;
/** Idle: the node has served for this long with nothing to do (start-up garbage collected, timers settled). */
const IDLE_SETTLE_MS = 10_000;
const RSS_SAMPLE_MS = 500;
const TARGET_IDLE_MIB = 150;
const MIB = 2 ** 20;

const NODE_SETTINGS = {
  // Info: the daemon's `node serving` line is how this benchmark knows it is up.
  log: { level: 'info' },
  checkpoint: { intervalSeconds: 1, leaves: 10_000 },
  ingest: { maxBatchRecords: BATCH_RECORDS },
} as const;

const benchmark: Benchmark = {
  name: 'node-rss',
  description: 'one node process from node.yaml: RSS idle, after 1M records ingested, once they are anchored',
  budgetMs: 480_000,
  async run(context) {
    quietChaincodeLogs();
    const members = await createTestConsortium();
    const connections: LedgerConnection[] = [];
    try {
      await using ledger = await startLedgerProcess([members.cryptoDir, join(members.dir, 'ledger'), 'lianxin']);
      const configFile = await registeredNodeConfig(members, ledger.address, connections);
      const node = startDaemon(configFile);
      try {
        const { grpc: address, operations } = await node.serving;
        await sleep(IDLE_SETTLE_MS, undefined, { signal: context.signal });
        const idle = await sampleRss(node.pid);
        const idleHeap = await heapMetrics(operations);
        context.log(`idle: ${mib(idle.bytes).toFixed(0)} MiB`);

        const agency = new (lianxinV1().RecordService)(address, await credentials(members));
        const progress = { acked: 0 };
        const rss = await startRssSampler(node.pid, RSS_SAMPLE_MS, () => progress.acked);
        const started = performance.now();
        const run = await runClosedLoop(
          (b) => ingestBatch(agency, recordBatch(b, BATCH_RECORDS, 'rss'), progress, context.signal),
          {
            concurrency: CONCURRENCY,
            maxOperations: RECORDS / BATCH_RECORDS,
            maxDurationMs: 300_000,
            signal: context.signal,
          },
        );
        const ingestMs = performance.now() - started;
        agency.close();
        if (run.failed > 0) throw new BenchError('NOTHING_COMPLETED', `${String(run.failed)} batches failed`);
        const afterIngest = await sampleRss(node.pid);
        context.log(`${String(progress.acked)} acknowledged in ${(ingestMs / 1000).toFixed(0)} s`);

        const anchoredMs = await waitAnchored(operations, progress.acked, context.signal);
        const afterAnchored = await sampleRss(node.pid);
        const memory = await rss.stop();
        // Idle again: what stays resident once the work is done (V8 keeps the heap it grew; LevelDB its caches).
        await sleep(IDLE_SETTLE_MS, undefined, { signal: context.signal });
        const idleAfter = await sampleRss(node.pid);
        const idleAfterHeap = await heapMetrics(operations);
        const peak = memory.samples.reduce((max, s) => Math.max(max, s.bytes), 0);
        return [
          { label: 'idle RSS, 10 s after serving', value: mib(idle.bytes), unit: 'MiB', note: split(idle) },
          { label: '  V8 heap used / total, idle', value: mib(idleHeap.used), unit: 'MiB', note: heapNote(idleHeap) },
          { label: 'idle RSS ÷ target 150 MiB', value: idle.bytes / MIB / TARGET_IDLE_MIB, unit: '×' },
          {
            label: 'ingest, acknowledged',
            value: (progress.acked * 1000) / ingestMs,
            unit: 'records/s',
            note: `${String(progress.acked)} records, ${String(CONCURRENCY)} batches of ${String(BATCH_RECORDS)} in flight`,
          },
          {
            label: `RSS after ${String(progress.acked)} records acknowledged`,
            value: mib(afterIngest.bytes),
            unit: 'MiB',
            note: split(afterIngest),
          },
          {
            label: 'RSS once all are anchored',
            value: mib(afterAnchored.bytes),
            unit: 'MiB',
            note: `${split(afterAnchored)}; anchored ${(anchoredMs / 1000).toFixed(0)} s after the last acknowledgement`,
          },
          { label: 'peak RSS during ingest and anchoring', value: mib(peak), unit: 'MiB' },
          { label: 'idle RSS again, 10 s later', value: mib(idleAfter.bytes), unit: 'MiB', note: split(idleAfter) },
          {
            label: '  V8 heap used / total, idle again',
            value: mib(idleAfterHeap.used),
            unit: 'MiB',
            note: heapNote(idleAfterHeap),
          },
        ];
      } finally {
        await node.stop();
      }
    } finally {
      for (const connection of connections) connection.close();
      await members.cleanup();
    }
  },
};

export default benchmark;

/** Registers the consortium and the agency's node0 on the ledger, and writes its node.yaml. */
async function registeredNodeConfig(
  members: TestConsortium,
  ledgerAddress: string,
  connections: LedgerConnection[],
): Promise<string> {
  const org = members.consortium.organizations.find((o) => o.mspId === AGENCY);
  const node = org?.nodes[0];
  if (!org || !node) throw new BenchError('BAD_SETTING', `${AGENCY} has no node in the consortium`);
  const asAdmin = async (mspId: string) => {
    const connection = await members.connect(ledgerAddress, mspId, 'Admin');
    connections.push(connection);
    return new LianxinChain(connection.gateway.getNetwork(members.consortium.channel), CHAINCODE_NAME);
  };
  await registerOrganizations(asAdmin, members.consortium.organizations);
  const local = await writeLocalNodeConfig({
    consortium: members.consortium,
    org,
    node,
    cryptoDir: members.cryptoDir,
    dataRoot: members.dir,
    ledger: consortiumLedger(members.consortium, members.cryptoDir, ledgerAddress, CHAINCODE_NAME),
    grpcListen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    settings: NODE_SETTINGS,
  });
  await registerNode(asAdmin, { mspId: AGENCY, node, shard: '0', keys: local.keys });
  return local.configFile;
}

async function credentials(members: TestConsortium): Promise<grpc.ChannelCredentials> {
  const tls = orgPaths(members.cryptoDir, AGENCY).user('User1').tls;
  const [ca, key, cert] = await Promise.all([
    readFile(orgPaths(members.cryptoDir, AGENCY).tlsca.cert),
    readFile(tls.key),
    readFile(tls.cert),
  ]);
  return grpc.credentials.createSsl(ca, key, cert);
}

async function sampleRss(pid: number): Promise<RssSample> {
  const sampler = await startRssSampler(pid, 60_000);
  const summary = await sampler.stop();
  const sample = summary.samples.at(-1);
  if (sample === undefined) throw new BenchError('NOTHING_COMPLETED', `no RSS of process ${String(pid)} (Linux only)`);
  return sample;
}

const mib = (bytes: number) => bytes / MIB;
const split = (s: RssSample) => `anon ${mib(s.anonBytes).toFixed(0)} MiB, file ${mib(s.fileBytes).toFixed(0)} MiB`;

const heapNote = (h: HeapMetrics) =>
  `heap total ${mib(h.total).toFixed(0)} MiB, external (Buffers) ${mib(h.external).toFixed(0)} MiB`;
