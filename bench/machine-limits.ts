/**
 * The machine's own limits, measured in the same run as the figure they are the denominator of (issue 13: every
 * target is reported as a ratio to them): raw LevelDB synced batches, raw grpc-js unary calls and server-streamed
 * messages over TLS on loopback (the server in its own process, as the node and the ledger are), raw P-256 signs
 * and verifies through network/crypto. Each limit carries its rate and the CPU per unit of every process taking
 * part, which, unlike the rate, does not fall when other work on the shared machine takes a core.
 *
 * The one place these are measured: benches import the measurement they need rather than keeping a copy.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { signP256, verifyP256 } from '../network/crypto/index.ts';
import { issueCertificate } from '../network/pki/index.ts';
import type { BenchmarkContext, Figure } from './benchmark.ts';
import { runClosedLoop } from './closed-loop.ts';
import { measureCpu, waitUntilIdle } from './cpu-time.ts';
import { BenchError } from './errors.ts';
import { startServerProcess } from './server-process.ts';
import { enterpriseNumber, type SubjectOrder } from './subject-order.ts';
import { connectEcho, TLS_ECHO_SERVER_ENTRY } from './tls-echo.ts';

/**
 * One measured limit: `perSecond` units, and the CPU microseconds per unit of each process that took part. A limit
 * is measured whole or not at all: a failed unit throws INCOMPLETE.
 */
export interface MachineLimit {
  readonly label: string;
  readonly unit: string;
  readonly count: number;
  readonly perSecond: number;
  readonly cpuMicrosPerUnit: Readonly<Record<string, number | undefined>>;
  readonly note?: string;
}

export interface MachineLimits {
  readonly leveldb: MachineLimit;
  readonly grpcUnary: MachineLimit;
  readonly grpcStreaming: MachineLimit;
  readonly p256Sign: MachineLimit;
  readonly p256Verify: MachineLimit;
}

/**
 * Synced batches of `batchRecords` puts of `valueBytes` into a fresh LevelDB, as the node's ingest writes, for
 * `maxDurationMs` (or `maxBatches`, if fewer); keys in `keyOrder`: `ascending` (a log's leaf indexes, subjects in
 * order) or `random` (subjects scattered as bench/subject-order.ts scatters them: every flush spans the key range).
 */
export interface LevelDbLimitOptions {
  readonly batchRecords?: number;
  readonly valueBytes?: number;
  readonly maxBatches?: number;
  readonly maxDurationMs?: number;
  readonly keyOrder?: SubjectOrder;
}

/** How long LevelDB's compactions after the writes may take before the limit is refused as unfinished. */
const COMPACTION_MAX_MS = 120_000;

/**
 * Raw LevelDB: records/s in synced batches into a fresh database under `dir` (created, left for the caller). The
 * CPU per put includes the compactions the puts left behind (waited for until the process is idle): LevelDB does
 * that work for them after the last batch returns, as the node's stores do after a load.
 */
export async function measureLevelDb(
  dir: string,
  context: BenchmarkContext,
  {
    batchRecords = 1_000,
    valueBytes = 100,
    maxBatches = Infinity,
    maxDurationMs = 3_000,
    keyOrder = 'ascending',
  }: LevelDbLimitOptions = {},
): Promise<MachineLimit> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    // Incompressible values, a different slice per record, as hashes and signed leaves are.
    const pool = randomBytes(valueBytes * batchRecords * 2);
    let batches = 0;
    let writesMs = 0;
    let idle = { settled: false, waitedMs: 0 };
    const started = performance.now();
    const { cpuMs } = await measureCpu({ 'bench process': process.pid }, async () => {
      const deadline = started + maxDurationMs;
      while (batches < maxBatches && performance.now() < deadline && !context.signal.aborted) {
        const n = batches;
        await db.batch(
          Array.from({ length: batchRecords }, (_, i) => {
            const key = Buffer.alloc(8);
            key.writeBigUInt64BE(BigInt(enterpriseNumber(n * batchRecords + i, keyOrder)));
            const at = ((n + i) % (batchRecords * 2 - 1)) * valueBytes;
            return { type: 'put' as const, key, value: pool.subarray(at, at + valueBytes) };
          }),
          { sync: true },
        );
        batches++;
      }
      writesMs = performance.now() - started;
      idle = await waitUntilIdle(process.pid, { maxMs: COMPACTION_MAX_MS });
    });
    const records = batches * batchRecords;
    if (records === 0) throw new BenchError('NOTHING_COMPLETED', 'raw LevelDB: no batch completed');
    if (!idle.settled) {
      throw new BenchError(
        'INCOMPLETE',
        `raw LevelDB: compactions still running ${String(COMPACTION_MAX_MS / 1000)} s after the writes`,
      );
    }
    const limit: MachineLimit = {
      label: `raw LevelDB, synced batches of ${batchRecords.toLocaleString('en-US')} puts of ${String(valueBytes)} B, ${keyOrder} keys`,
      unit: 'puts/s',
      count: records,
      perSecond: (records * 1000) / writesMs,
      cpuMicrosPerUnit: perUnit(cpuMs, records),
      note: `${String(batches)} batches in ${(writesMs / 1000).toFixed(1)} s; CPU until idle ${(idle.waitedMs / 1000).toFixed(1)} s later`,
    };
    context.log(`${limit.label}: ${limit.perSecond.toFixed(0)}/s`);
    return limit;
  } finally {
    await db.close();
  }
}

/** A TLS server certificate and key on disk, with the root that a client trusts it by and the name it holds. */
export interface EchoTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly rootCertPem: string;
  readonly hostAlias: string;
}

export interface GrpcLimitOptions {
  /** The server's TLS material; default a fresh CA and server certificate for `localhost` written under `dir`. */
  readonly tls?: EchoTls;
  /** In flight, unary; default 64 (the ledger's and AttestStream's figures). */
  readonly concurrency?: number;
  /** Bytes of each unary request and reply, and of each streamed message; default 100. */
  readonly payloadBytes?: number;
  readonly maxDurationMs?: number;
}

/** Raw grpc-js over TLS on loopback, the echo server in its own process: unary calls/s and streamed messages/s. */
export async function measureGrpc(
  dir: string,
  context: BenchmarkContext,
  options: GrpcLimitOptions = {},
): Promise<{ readonly unary: MachineLimit; readonly streaming: MachineLimit }> {
  const { concurrency = 64, payloadBytes = 100, maxDurationMs = 8_000 } = options;
  const tls = options.tls ?? (await localhostTls(dir));
  await using server = await startServerProcess(TLS_ECHO_SERVER_ENTRY, [tls.certFile, tls.keyFile]);
  const client = connectEcho(server.address, tls.rootCertPem, tls.hostAlias);
  const processes = { 'echo server': server.pid, 'bench client': process.pid } as const;
  try {
    const payload = Buffer.alloc(payloadBytes, 0x2a);
    const call = async () => (await client.echo(payload)).length === payloadBytes;
    const bounds = { concurrency, signal: context.signal };
    // Past V8's tier-up of the per-call code (TurboFan after ≈3,000 calls in Node 22), as attest's timed unary
    // calls are: a floor measured on unoptimized code flatters what is compared with it (RESULTS.md, attest11).
    await runClosedLoop(call, { ...bounds, maxOperations: 6_000, maxDurationMs: 10_000 });
    const { value: unary, cpuMs: unaryCpu } = await measureCpu(processes, () =>
      runClosedLoop(call, { ...bounds, maxOperations: 200_000, maxDurationMs }),
    );
    // A failed call lowers calls/s and so flatters every "÷ raw unary" ratio measured against it.
    if (unary.failed > 0) {
      throw new BenchError('INCOMPLETE', `raw grpc-js unary: ${String(unary.failed)} echo calls failed`, {
        cause: unary.firstFailure,
      });
    }
    const unaryLimit: MachineLimit = {
      label: `raw grpc-js unary over TLS (echo ${String(payloadBytes)} B), ${String(concurrency)} in flight`,
      unit: 'calls/s',
      count: unary.succeeded,
      perSecond: unary.perSecond,
      cpuMicrosPerUnit: perUnit(unaryCpu, unary.succeeded),
      note: `p50 ${unary.p50Ms.toFixed(1)} ms, p99 ${unary.p99Ms.toFixed(1)} ms`,
    };
    context.log(`${unaryLimit.label}: ${unaryLimit.perSecond.toFixed(0)}/s`);

    // One stream, bounded by time: the client cancels it at the deadline and counts what arrived.
    await client.stream(5_000, payloadBytes);
    const started = performance.now();
    const { value: received, cpuMs: streamCpu } = await measureCpu(processes, () =>
      client.stream(50_000_000, payloadBytes, AbortSignal.any([context.signal, AbortSignal.timeout(maxDurationMs)])),
    );
    const seconds = (performance.now() - started) / 1000;
    if (received === 0) throw new BenchError('NOTHING_COMPLETED', 'raw grpc-js streaming: no message arrived');
    const streamingLimit: MachineLimit = {
      label: `raw grpc-js server streaming over TLS (${String(payloadBytes)} B messages), one stream`,
      unit: 'messages/s',
      count: received,
      perSecond: received / seconds,
      cpuMicrosPerUnit: perUnit(streamCpu, received),
    };
    context.log(`${streamingLimit.label}: ${streamingLimit.perSecond.toFixed(0)}/s`);
    return { unary: unaryLimit, streaming: streamingLimit };
  } finally {
    client.close();
  }
}

/** Raw P-256 through network/crypto (the wrapper every signature of the project goes through), one thread. */
export function measureP256(
  context: BenchmarkContext,
  { maxDurationMs = 3_000 }: { readonly maxDurationMs?: number } = {},
): { readonly sign: MachineLimit; readonly verify: MachineLimit } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const message = Buffer.from('the same 32 bytes a receipt hash would be.');
  const signature = signP256(privateKey, message);
  const sign = synchronousLimit(context, 'raw P-256 sign (network/crypto), 1 thread', 'signs/s', maxDurationMs, () =>
    signP256(privateKey, message),
  );
  const verify = synchronousLimit(
    context,
    'raw P-256 verify (network/crypto), 1 thread',
    'verifies/s',
    maxDurationMs,
    () => {
      if (!verifyP256(publicKey, message, signature).ok) {
        throw new BenchError('NOTHING_COMPLETED', 'the raw signature did not verify');
      }
    },
  );
  return { sign, verify };
}

/** Every limit, one after the other (they would compete for the cores if run together); `dir` is scratch space. */
export async function measureMachineLimits(
  context: BenchmarkContext,
  options: { readonly dir?: string; readonly grpc?: GrpcLimitOptions; readonly leveldb?: LevelDbLimitOptions } = {},
): Promise<MachineLimits> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'lianxin-limits-')));
  try {
    const leveldb = await measureLevelDb(join(dir, 'raw-leveldb'), context, options.leveldb);
    const grpc = await measureGrpc(dir, context, options.grpc);
    const p256 = measureP256(context);
    return {
      leveldb,
      grpcUnary: grpc.unary,
      grpcStreaming: grpc.streaming,
      p256Sign: p256.sign,
      p256Verify: p256.verify,
    };
  } finally {
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** A limit as table rows: its rate, then the CPU per unit of each process. */
export function limitFigures(limit: MachineLimit): Figure[] {
  return [
    {
      label: limit.label,
      value: limit.perSecond,
      unit: limit.unit,
      note: [`${limit.count.toLocaleString('en-US')} in this run`, limit.note].filter(Boolean).join('; '),
    },
    ...Object.entries(limit.cpuMicrosPerUnit).flatMap(([process, micros]) =>
      micros === undefined ? [] : [{ label: `  ${process} CPU per unit`, value: micros, unit: 'µs' }],
    ),
  ];
}

/** `measured ÷ limit` as a figure: how much of the machine's ceiling a subject reaches. */
export function ratioToLimit(label: string, perSecond: number, limit: MachineLimit): Figure {
  return { label, value: perSecond / limit.perSecond, unit: '×', note: `of ${limit.label}` };
}

/** CPU milliseconds per process → microseconds per unit; undefined where /proc could not tell or nothing was done. */
export function perUnit(cpuMs: Readonly<Record<string, number | undefined>>, units: number) {
  return Object.fromEntries(
    Object.entries(cpuMs).map(([name, ms]) => [
      name,
      ms === undefined || units === 0 ? undefined : (ms * 1000) / units,
    ]),
  );
}

/** Runs the synchronous `operation` for `maxDurationMs` after 1,000 unmeasured ones; rate and CPU per operation. */
function synchronousLimit(
  context: BenchmarkContext,
  label: string,
  unit: string,
  maxDurationMs: number,
  operation: () => void,
): MachineLimit {
  for (let i = 0; i < 1_000; i++) operation();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + maxDurationMs;
  let count = 0;
  // Checking the clock every 64 operations keeps it out of the figure.
  while (!context.signal.aborted && (count % 64 !== 0 || performance.now() < deadline)) {
    operation();
    count++;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (count === 0) throw new BenchError('NOTHING_COMPLETED', `${label}: no operation completed`);
  const limit: MachineLimit = {
    label,
    unit,
    count,
    perSecond: count / seconds,
    cpuMicrosPerUnit: { 'bench process': (cpu.user + cpu.system) / count },
  };
  context.log(`${label}: ${limit.perSecond.toFixed(0)}/s`);
  return limit;
}

/** A CA and a TLS server certificate for `localhost` / 127.0.0.1 signed by it. */
export async function localhostCertificates() {
  const subject = (commonName: string) => ({ commonName, organization: 'BenchMSP', locality: 'Hangzhou' });
  const ca = await issueCertificate({ subject: subject('tlsca.bench'), profile: { kind: 'ca' } });
  const server = await issueCertificate({
    subject: subject('localhost'),
    profile: { kind: 'tls-server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    issuer: ca,
  });
  return { ca, server };
}

/** localhostCertificates, the server's written under `dir`. */
async function localhostTls(dir: string): Promise<EchoTls> {
  const { ca, server } = await localhostCertificates();
  const certFile = join(dir, 'echo-server.crt');
  const keyFile = join(dir, 'echo-server.key');
  await Promise.all([writeFile(certFile, server.certificatePem), writeFile(keyFile, server.privateKeyPem)]);
  return { certFile, keyFile, rootCertPem: ca.certificatePem, hostAlias: 'localhost' };
}
