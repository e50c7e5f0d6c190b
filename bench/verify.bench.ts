/**
 * Offline attestation verification (node/receipts verifyAttestation) on one thread, from the bytes a bank keeps,
 * against the machine's own limit measured in the same run: raw P-256 verifies through the same crypto wrapper.
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
 * Protocol Performance.getMetrics TaskDuration) over the count.
 */
import { build } from 'esbuild';
import { signP256, verifyP256 } from '../network/crypto/index.ts';
import { explainAttestation, parseTrustBundle as parseWithBackend } from '../node/verifier/index.ts';
import { nobleCrypto } from '../node/verifier/noble-crypto.ts';
import { nodeCrypto } from '../node/verifier/node-crypto.ts';
import { launchChromium } from '../test/support/browser.ts';
import { attestationBytes, parseTrustBundle, signAttestation, verifyAttestation } from '../node/receipts/index.ts';
import { bundleOf, createTestLog, createTestOrg, unsignedAttestation } from '../node/receipts/test-fixtures.ts';
import type { Benchmark, BenchmarkContext, Figure } from './benchmark.ts';
import { BenchError } from './errors.ts';

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
    const message = Buffer.from('the same 32 bytes a receipt hash would be.');
    const signature = signP256(agency.receiptKey.privateKey, message);

    const rawVerify = measure(context, 'raw P-256 verify', () => {
      if (!verifyP256(agency.receiptKey.publicKey, message, signature).ok) {
        throw new BenchError('NOTHING_COMPLETED', 'the raw signature did not verify');
      }
    });
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
    const rawSign = measure(context, 'raw P-256 sign', () => signP256(agency.receiptKey.privateKey, message));
    const sign = measure(context, 'signAttestation', (i) =>
      signAttestation(unsigned[i % unsigned.length] ?? {}, agency.receiptKey),
    );

    const bytes = samples[0]?.length ?? 0;
    return [
      {
        label: 'raw P-256 verify (the machine’s limit)',
        value: rawVerify.perSecond,
        unit: 'verifies/s',
        note: `${rawVerify.count.toLocaleString('en-US')} in this run`,
      },
      { label: '  CPU per raw verify', value: rawVerify.cpuMicros, unit: 'µs' },
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
      { label: 'raw P-256 sign', value: rawSign.perSecond, unit: 'signs/s' },
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
