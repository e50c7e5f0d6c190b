/**
 * Progress of bulk work on a terminal: a one-line bar redrawn in place on stderr (records done, rate, ETA), and
 * the number formats of the final summary. Nothing is drawn when stderr is not a TTY (logs and pipes get the
 * summary only).
 */

export interface ProgressSnapshot {
  /** Records acknowledged by the node. */
  readonly done: number;
  /** Fraction of the input read, 0..1, when the input size is known. */
  readonly fraction?: number;
  readonly elapsedMs: number;
}

const BAR_WIDTH = 24;
/** Redraw at most this often: terminals are slow and the eye is slower. */
const REDRAW_MS = 100;
const numberFormat = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return numberFormat.format(Math.round(n));
}

/** Records per second, with a decimal below 10 so slow rates do not show as 0. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  return perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
}

/** A duration for people: "0.4 s", "12.3 s", "4m05s", "2h03m". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s).padStart(2, '0')}s`;
}

/** The rate over the whole run, records per second. */
export function rateOf(done: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
}

/**
 * One progress line: `[#######.........]  42%  120,000 records  48,310/s  ETA 1m10s`. The ETA extrapolates the
 * records still to come from the share of the input read so far; without a size there is neither bar nor ETA.
 */
export function renderProgress(snapshot: ProgressSnapshot): string {
  const rate = rateOf(snapshot.done, snapshot.elapsedMs);
  const parts = [`${formatCount(snapshot.done)} records`, `${formatRate(rate)}/s`];
  const { fraction } = snapshot;
  if (fraction === undefined) return parts.join('  ');
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`;
  if (clamped > 0 && rate > 0) {
    const expected = snapshot.done / clamped;
    parts.push(`ETA ${formatDuration(((expected - snapshot.done) / rate) * 1000)}`);
  }
  return [bar, ...parts].join('  ');
}

/** The terminal side of a stream: only `write` and whether it is a TTY. */
export interface TerminalOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Draws `renderProgress` lines in place on a TTY, throttled; does nothing on anything else. */
export class ProgressBar {
  readonly #out: TerminalOutput;
  readonly #enabled: boolean;
  readonly #startedAt = performance.now();
  #drawnAt = -Infinity;
  #drawn = false;

  constructor(out: TerminalOutput) {
    this.#out = out;
    this.#enabled = out.isTTY === true;
  }

  get elapsedMs(): number {
    return performance.now() - this.#startedAt;
  }

  update(done: number, fraction?: number): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = now;
    this.#drawn = true;
    const snapshot = { done, elapsedMs: now - this.#startedAt, ...(fraction === undefined ? {} : { fraction }) };
    // CR back to column 0, then erase to end of line (ECMA-48 EL, CSI K).
    this.#out.write(`\r${renderProgress(snapshot)}\x1b[K`);
  }

  /** Erases the bar, so that what follows starts on a clean line. */
  clear(): void {
    if (this.#drawn) this.#out.write('\r\x1b[K');
    this.#drawn = false;
  }
}
