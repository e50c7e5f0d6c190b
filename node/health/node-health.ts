/**
 * The node's health, evaluated from its checks: on demand for /healthz, and every `intervalMs` to keep gRPC
 * health (what load balancers and supervisors poll) in step without waiting for someone to ask.
 */
import type { FailedCheck, HealthCheck } from './health-check.ts';

export interface NodeHealthOptions {
  readonly checks: readonly HealthCheck[];
  readonly intervalMs: number;
  /** Called with the failing checks whenever the set of failing components changes (and once at start). */
  readonly onChange: (failed: readonly FailedCheck[]) => void;
  /** Default `Date.now`. */
  readonly now?: () => number;
}

export class NodeHealth {
  readonly #o: NodeHealthOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #reported: string | undefined;

  constructor(options: Readonly<NodeHealthOptions>) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The checks failing now, in the order of `checks`. */
  failedChecks(): FailedCheck[] {
    const now = this.#now();
    const failed: FailedCheck[] = [];
    for (const check of this.#o.checks) {
      const reason = check.check(now);
      if (reason !== undefined) failed.push({ component: check.component, reason });
    }
    return failed;
  }

  /** Evaluates now and reports a change of the failing components. */
  evaluate(): readonly FailedCheck[] {
    const failed = this.failedChecks();
    const components = failed.map((f) => f.component).join(',');
    if (components !== this.#reported) {
      this.#reported = components;
      this.#o.onChange(failed);
    }
    return failed;
  }

  start(): void {
    this.evaluate();
    this.#timer ??= setInterval(() => this.evaluate(), this.#o.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
