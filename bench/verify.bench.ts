/**
 * Offline attestation verification (node/receipts verifyAttestation) on one thread, from the bytes a bank keeps,
 * against the machine's own limit measured in the same run: raw P-256 verifies through the same crypto wrapper
 * (bench/machine-limits.ts measureP256, the figure every bench uses).
 * Each attestation costs one ECDSA verify of the node's signature; the checkpoint's signature is verified once
 * per checkpoint and remembered for the bundle, and the attestations here share one checkpoint (64 leaves of a
 * 1,024-leaf log), as a bank's batch from one node's checkpoint does. So raw verifies/s is the ceiling and the
 * ratio says what decoding, the inclusion proof and the bundle's checks cost on top. Signing is measured the same
 * way against raw signs, for the node's side of the receipt.
 *
 * CPU per operation is this process's user + system time over the phase (process.cpuUsage) divided by the count:
 * unlike the rate, it does not fall when other work on a shared machine takes the core.
 *
 * Side by side (issue 14), the same 64 attestations through the verifier core on each crypto backend: node:crypto
 * in Node, noble in Node, and noble in headless Chromium (the Verify page's path: the core bundled by esbuild,
 * run in the page). The browser's CPU per verification is the renderer's main-thread task time (Chrome DevTools
 * Protocol Performance.getMetrics TaskDuration) over the count. Then access proofs (`lianxin receipt prove`
 * files) through the core's explainAccessProof on both backends in Node.
 */
import { build } from 'esbuild';
import {
  explainAccessProof,
  explainAttestation,
  parseAccessProofJson,
  parseTrustBundle as parseWithBackend,
} from '../node/verifier/index.ts';
import { nobleCrypto } from '../node/verifier/noble-crypto.ts';
import { nodeCrypto } from '../node/verifier/node-crypto.ts';
import { launchChromium } from '../test/support/browser.ts';
import { attestationBytes, parseTrustBundle, signAttestation, verifyAttestation } from '../node/receipts/index.ts';
import { bundleOf, createTestLog, createTestOrg, unsignedAttestation } from '../node/receipts/test-fixtures.ts';
import { createAccessProofFixture } from '../node/verifier/test-access-proof.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { BenchError } from './errors.ts';
import { limitFigures, measureP256, type MachineLimit } from './machine-limits.ts';

const LOG_SIZE = 1_024;
const ATTESTATIONS = 64;
/** Each phase stops at this many operations or this long, whichever comes first, after `warmUp` unmeasured ones. */
const PHASE = { warmUp: 1_000, operations: 200_000, maxDurationMs: 3_000 } as const;
/** DESIGN's target for offline receipt verification: at least 5,000/s per core (also in bench/node.bench.ts). */
const TARGET_VERIFY_PER_S = 5_000;

interface Phase {
  readonly count: number;
  readonly perSecond: number;
  readonly cpuMicros: number;
}

const benchmark: Benchmark = {
  name: 'verify',
  description:
    'offline verifyAttestation and signAttestation on one thread, against raw P-256 verify and sign; the verifier core on node:crypto, noble in Node and noble in Chromium',
  budgetMs: 90_000,
  async run(context) {
    const agency = await createTestOrg('HangzhouAgencyMSP', 'agency');
    const bundle = parseTrustBundle(JSON.stringify(bundleOf([agency])));
    const log = createTestLog(agency, LOG_SIZE);
    const unsigned = Array.from({ length: ATTESTATIONS }, (_, i) =>
      unsignedAttestation(log, (i * LOG_SIZE) / ATTESTATIONS),
    );
    const samples = unsigned.map((u) => attestationBytes(signAttestation(u, agency.receiptKey)));

    // The machine's raw P-256 verify and sign (bench/machine-limits.ts, as every bench measures them).
    const p256 = measureP256(context, { maxDurationMs: PHASE.maxDurationMs });
    const rawVerify = asPhase(p256.verify);
    const rawSign = asPhase(p256.sign);
    const verify = measure(context, 'verifyAttestation', (i) => {
      const result = verifyAttestation(samples[i % samples.length] ?? new Uint8Array(0), bundle, {
        requireAnchored: true,
      });
      if (!result.ok) throw new BenchError('NOTHING_COMPLETED', `${result.code}: ${result.reason}`);
    });
    const bundleText = JSON.stringify(bundleOf([agency]));
    const backends = [nodeCrypto, nobleCrypto].map((crypto) => {
      const coreBundle = parseWithBackend(bundleText, crypto);
      return measure(context, `core on ${crypto.name} (Node)`, (i) => {
        if (!explainAttestation(samples[i % samples.length] ?? new Uint8Array(0), coreBundle).ok) {
          throw new BenchError('NOTHING_COMPLETED', `core on ${crypto.name}: a sample did not verify`);
        }
      });
    });
    const browser = await measureInChromium(context, bundleText, samples);
    const accessProofs = await measureAccessProofs(context);
    const sign = measure(context, 'signAttestation', (i) =>
      signAttestation(unsigned[i % unsigned.length] ?? {}, agency.receiptKey),
    );

    const bytes = samples[0]?.length ?? 0;
    return [
      ...limitFigures(p256.verify),
      {
        label: 'verifyAttestation from bytes, 1 thread',
        value: verify.perSecond,
        unit: 'verifications/s',
        note: `${verify.count.toLocaleString('en-US')} over ${String(ATTESTATIONS)} attestations of ${String(bytes)} B, one checkpoint`,
      },
      { label: '  CPU per verification', value: verify.cpuMicros, unit: 'µs' },
      { label: 'verifyAttestation ÷ raw verify', value: verify.perSecond / rawVerify.perSecond, unit: '×' },
      {
        label: 'CPU per raw verify ÷ CPU per verification',
        value: rawVerify.cpuMicros / verify.cpuMicros,
        unit: '×',
        note: 'the same ratio, steadier on a shared machine',
      },
      {
        label: `verifyAttestation ÷ target ${TARGET_VERIFY_PER_S.toLocaleString('en-US')}/s per core`,
        value: verify.perSecond / TARGET_VERIFY_PER_S,
        unit: '×',
        note: 'at least 1 meets it',
      },
      ...sideBySide(backends, browser),
      ...accessProofs,
      ...limitFigures(p256.sign),
      { label: 'signAttestation, 1 thread', value: sign.perSecond, unit: 'signatures/s' },
      { label: '  CPU per signAttestation', value: sign.cpuMicros, unit: 'µs' },
      { label: 'signAttestation ÷ raw sign', value: sign.perSecond / rawSign.perSecond, unit: '×' },
    ] satisfies Figure[];
  },
};

export default benchmark;

function sideBySide(backends: readonly Phase[], browser: Phase): Figure[] {
  const [node, noble] = backends;
  if (node === undefined || noble === undefined) return [];
  return [
    { label: 'verifier core, node:crypto in Node', value: node.perSecond, unit: 'verifications/s' },
    { label: '  CPU per verification', value: node.cpuMicros, unit: 'µs' },
    { label: 'verifier core, noble in Node', value: noble.perSecond, unit: 'verifications/s' },
    { label: '  CPU per verification', value: noble.cpuMicros, unit: 'µs' },
    {
      label: 'verifier core, noble in Chromium (Verify page)',
      value: browser.perSecond,
      unit: 'verifications/s',
      note: `${browser.count.toLocaleString('en-US')} in headless Chromium`,
    },
    { label: '  CPU per verification (renderer task time)', value: browser.cpuMicros, unit: 'µs' },
    {
      label: 'CPU per verification: noble in Chromium ÷ node:crypto',
      value: browser.cpuMicros / node.cpuMicros,
      unit: '×',
    },
  ];
}

/** A machine limit as a phase of this bench: its rate and the bench process's CPU per operation. */
function asPhase(limit: MachineLimit): Phase {
  const cpuMicros = limit.cpuMicrosPerUnit['bench process'];
  if (cpuMicros === undefined) throw new BenchError('NOTHING_COMPLETED', `${limit.label}: no CPU figure`);
  return { count: limit.count, perSecond: limit.perSecond, cpuMicros };
}

/**
 * An access proof (`lianxin receipt prove --out`: the bundle's three signatures, then the access leaf's v2
 * attestation and its checkpoint) verified by the core's explainAccessProof on each backend in Node, from the
 * parsed file: the three messages' ECDSA verifications each time; the batch signature and the checkpoint are
 * remembered per trust bundle (as when a bank checks many proofs), so this is the bundle side's cost plus hashing.
 */
async function measureAccessProofs(context: BenchmarkContext): Promise<Figure[]> {
  const fixture = await createAccessProofFixture();
  const file = parseAccessProofJson(JSON.parse(fixture.fileText));
  const trustText = JSON.stringify(fixture.trustJson);
  return [nodeCrypto, nobleCrypto].flatMap((crypto) => {
    const trust = parseWithBackend(trustText, crypto);
    const phase = measure(context, `access proof on ${crypto.name} (Node)`, () => {
      if (!explainAccessProof(file.envelopes, file.accessAttestation, trust).ok) {
        throw new BenchError('NOTHING_COMPLETED', `access proof on ${crypto.name}: it did not verify`);
      }
    });
    return [
      { label: `access proof, ${crypto.name} in Node`, value: phase.perSecond, unit: 'verifications/s' },
      { label: '  CPU per access proof', value: phase.cpuMicros, unit: 'µs' },
    ];
  });
}

/** The core bundled for the browser as the Verify page is, verifying `samples` in a page for up to PHASE's time. */
async function measureInChromium(
  context: BenchmarkContext,
  bundleText: string,
  samples: readonly Uint8Array[],
): Promise<Phase> {
  const bundled = await build({
    stdin: {
      contents: `import { explainAttestation, parseTrustBundle } from '../node/verifier/index.ts';
import { nobleCrypto } from '../node/verifier/noble-crypto.ts';
globalThis.verifyBench = (bundleText, samples, warmUp, operations, maxMs) => {
  const bundle = parseTrustBundle(bundleText, nobleCrypto);
  const bytes = samples.map((s) => Uint8Array.from(s));
  for (let i = 0; i < warmUp; i++) explainAttestation(bytes[i % bytes.length], bundle);
  const started = performance.now();
  let count = 0;
  while (count < operations && (count % 16 !== 0 || performance.now() - started < maxMs)) {
    if (!explainAttestation(bytes[count % bytes.length], bundle).ok) throw new Error('a sample did not verify');
    count++;
  }
  return { count, ms: performance.now() - started };
};`,
      resolveDir: new URL('.', import.meta.url).pathname,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.addScriptTag({ content: bundled.outputFiles[0]?.text ?? '' });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const taskSeconds = async () =>
      (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
    const run = (warmUp: number, operations: number) =>
      page.evaluate(
        ([text, bytes, w, n, maxMs]) =>
          (globalThis as unknown as { verifyBench: (...args: unknown[]) => { count: number; ms: number } }).verifyBench(
            text,
            bytes,
            w,
            n,
            maxMs,
          ),
        [bundleText, samples.map((s) => Array.from(s)), warmUp, operations, PHASE.maxDurationMs] as const,
      );
    await run(100, 0); // warm-up, outside the measured task time
    const before = await taskSeconds();
    const result = await run(0, PHASE.operations);
    const task = (await taskSeconds()) - before;
    const phase = {
      count: result.count,
      perSecond: result.count / (result.ms / 1000),
      cpuMicros: (task * 1e6) / result.count,
    };
    context.log(
      `core on noble (Chromium): ${String(result.count)} in ${(result.ms / 1000).toFixed(1)} s → ${phase.perSecond.toFixed(0)}/s`,
    );
    return phase;
  } finally {
    await browser.close();
  }
}

/** Runs the synchronous `operation(i)` for i = 0, 1, … until PHASE bounds it or the budget runs out. */
function measure(context: BenchmarkContext, what: string, operation: (i: number) => void): Phase {
  for (let i = 0; i < PHASE.warmUp; i++) operation(i);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + PHASE.maxDurationMs;
  let count = 0;
  // Checking the clock every 64 operations keeps it out of the figure.
  while (count < PHASE.operations && !context.signal.aborted && (count % 64 !== 0 || performance.now() < deadline)) {
    operation(count++);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (count === 0) throw new BenchError('NOTHING_COMPLETED', `${what}: no operation completed`);
  const phase = { count, perSecond: count / seconds, cpuMicros: (cpu.user + cpu.system) / count };
  context.log(`${what}: ${String(count)} in ${seconds.toFixed(1)} s → ${phase.perSecond.toFixed(0)}/s`);
  return phase;
}
