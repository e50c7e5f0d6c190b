import { describe, expect, it } from 'vitest';
import { summarize } from './commands/ingest.ts';
import { formatCount, formatDuration, formatRate, ProgressBar, rateOf, renderProgress } from './progress.ts';

describe('progress formatting', () => {
  it('groups thousands and rounds counts', () => {
    expect([formatCount(0), formatCount(999), formatCount(1234567), formatCount(12.6)]).toEqual([
      '0',
      '999',
      '1,234,567',
      '13',
    ]);
  });

  it('shows slow rates with a decimal and fast ones grouped', () => {
    expect([formatRate(0), formatRate(0.25), formatRate(9.94), formatRate(52_345.4), formatRate(NaN)]).toEqual([
      '0',
      '0.3',
      '9.9',
      '52,345',
      '0',
    ]);
    expect(rateOf(50_000, 2_000)).toBe(25_000);
    expect(rateOf(10, 0)).toBe(0);
  });

  it('writes durations in seconds, then minutes, then hours', () => {
    expect([formatDuration(400), formatDuration(12_345), formatDuration(245_000), formatDuration(7_380_000)]).toEqual([
      '0.4 s',
      '12.3 s',
      '4m05s',
      '2h03m',
    ]);
  });

  it('draws a bar with the share read and an ETA extrapolated from it', () => {
    // 100,000 records in 2 s (50,000/s), a quarter of the input read: 300,000 to go, 6 s.
    expect(renderProgress({ done: 100_000, fraction: 0.25, elapsedMs: 2_000 })).toBe(
      '[######..................]  25%  100,000 records  50,000/s  ETA 6.0 s',
    );
    expect(renderProgress({ done: 0, fraction: 0, elapsedMs: 0 })).toBe(
      '[........................]   0%  0 records  0/s',
    );
    expect(renderProgress({ done: 5, elapsedMs: 1_000 })).toBe('5 records  5.0/s');
  });

  it('sums up an import on one line', () => {
    const none = { alreadyAcknowledged: 0, skipped: 0 };
    expect(summarize({ ...none, records: 120_000, accepted: 119_500, duplicate: 500, elapsedMs: 2_400 })).toBe(
      'ingested 120,000 records (119,500 accepted, 500 duplicate) in 2.4 s, 50,000 records/s',
    );
    expect(summarize({ ...none, records: 2, accepted: 2, duplicate: 0, skipped: 3, elapsedMs: 1_000 })).toBe(
      'ingested 2 records (2 accepted, 0 duplicate) in 1.0 s, 2.0 records/s; 3 invalid lines skipped',
    );
    expect(
      summarize({ ...none, records: 500, accepted: 0, duplicate: 0, alreadyAcknowledged: 500, elapsedMs: 1_000 }),
    ).toBe('ingested 500 records (0 accepted, 0 duplicate, 500 already acknowledged) in 1.0 s, 500 records/s');
  });
});

describe('ProgressBar', () => {
  it('draws in place on a TTY and erases itself', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ isTTY: true, write: (text: string) => written.push(text) });
    bar.update(10, 0.5);
    bar.clear();
    expect(written).toHaveLength(2);
    expect(written[0]?.startsWith(`\r[${'#'.repeat(12)}${'.'.repeat(12)}]  50%  10 records  `)).toBe(true);
    expect(written[0]?.endsWith('\x1b[K')).toBe(true);
    expect(written[1]).toBe('\r\x1b[K');
  });

  it('draws nothing when the output is not a terminal', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ isTTY: false, write: (text: string) => written.push(text) });
    bar.update(10, 0.5);
    bar.clear();
    expect(written).toEqual([]);
  });
});
