/**
 * The resident set size of a process over a phase, sampled at a fixed interval from proc(5) (`VmRSS` of
 * /proc/<pid>/status, in kB), each sample paired with the phase's progress (e.g. records ingested so far): what a
 * flat-memory check looks at. RSS is split as the kernel counts it: anonymous pages (V8 heap, Buffers, malloc: what
 * a leak grows) and file-backed pages (LevelDB reads its table files through mmap, up to 1,000 of them, so the
 * tables a node reads count in its RSS; the kernel reclaims them under pressure). Linux only; elsewhere no samples
 * are taken.
 */
import { readFile } from 'node:fs/promises';

export interface RssSample {
  readonly bytes: number;
  /** RssAnon. */
  readonly anonBytes: number;
  /** RssFile. */
  readonly fileBytes: number;
  readonly progress: number;
}

export interface RssSummary {
  readonly samples: readonly RssSample[];
  /** Bytes; NaN when no sample could be taken. */
  readonly startBytes: number;
  readonly peakBytes: number;
  readonly endBytes: number;
}

export interface RssSampler {
  /** Stops sampling (after one last sample) and summarises. */
  stop(): Promise<RssSummary>;
}

async function rssBytes(pid: number): Promise<Omit<RssSample, 'progress'> | undefined> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8').catch(() => undefined);
  const bytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status ?? '')?.[1]) * 1024;
  const sample = { bytes: bytes('VmRSS'), anonBytes: bytes('RssAnon'), fileBytes: bytes('RssFile') };
  return Object.values(sample).every(Number.isFinite) ? sample : undefined;
}

export async function startRssSampler(
  pid: number,
  intervalMs: number,
  progress: () => number = () => 0,
): Promise<RssSampler> {
  const samples: RssSample[] = [];
  const sample = async () => {
    const rss = await rssBytes(pid);
    if (rss !== undefined) samples.push({ ...rss, progress: progress() });
  };
  await sample();
  const timer = setInterval(() => void sample(), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      return {
        samples,
        startBytes: samples[0]?.bytes ?? NaN,
        peakBytes: samples.length === 0 ? NaN : samples.reduce((peak, s) => Math.max(peak, s.bytes), 0),
        endBytes: samples.at(-1)?.bytes ?? NaN,
      };
    },
  };
}
