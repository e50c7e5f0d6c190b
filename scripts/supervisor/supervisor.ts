/**
 * Keeps a set of child processes serving, as npm start runs the local consortium: each started and waited for
 * until it serves (a child that fails to start is that start's failure, with the child's own line), then
 * restarted with backoff when it ends on its own (1 s, 2 s, 4 s… up to a cap; back to 1 s after it has served a
 * while), and all stopped — tier by tier, SIGTERM then SIGKILL after the grace period — when the supervisor is.
 * Whatever way the supervisor's process ends, `signalAll` in its exit handler leaves no child behind.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { ChildRun, describeExit, endedLine, type ChildCommand } from './child-run.ts';
import { SupervisorError } from './errors.ts';

export interface ChildSpec {
  /** How the supervisor's output and errors name it: `ledger`, an MSP ID. */
  readonly name: string;
  /** The command of each run; asked again at every restart (a ledger restarted on the port it first got). */
  readonly command: () => ChildCommand;
  /** Where its stdout and stderr go, appended across runs. */
  readonly logFile: string;
  /**
   * Resolves once `run` serves; `restart` says it is not the first run. Must give up when `signal` aborts (the run
   * ended, timed out, or the start stops).
   */
  readonly ready: (run: ChildRun, signal: AbortSignal, restart: boolean) => Promise<void>;
  readonly readyTimeoutMs: number;
  /** Its time between SIGTERM and SIGKILL when stopped; default the supervisor's `graceMs`. */
  readonly graceMs?: number;
  /** Higher tiers stop first: the nodes (1) before the ledger they write to (0). */
  readonly tier: number;
}

export interface SupervisorOptions {
  /** The supervisor's own output line (restarts, stops). */
  readonly say: (line: string) => void;
  /** Time a child has between SIGTERM and SIGKILL. */
  readonly graceMs: number;
  readonly backoff?: Partial<RestartBackoff>;
}

export interface RestartBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run that served this long before it ended restarts after `initialMs` again. */
  readonly resetAfterMs: number;
}

const DEFAULT_BACKOFF: RestartBackoff = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };

interface Supervised {
  readonly spec: ChildSpec;
  readonly log: WriteStream;
  run: ChildRun | undefined;
  servingSince: number | undefined;
  /** Restarts since it last served `resetAfterMs`. */
  restarts: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #backoff: RestartBackoff;
  readonly #children: Supervised[] = [];
  readonly #stopping = new AbortController();

  constructor(options: Readonly<SupervisorOptions>) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  /**
   * Starts `spec` and resolves once it serves; from then on a run that ends on its own is restarted.
   * @throws SupervisorError `CHILD_EXITED` with the child's last line, `CHILD_NOT_READY`, or `ABORTED` (also when
   *   the supervisor was stopped before); the child is stopped before it throws.
   */
  async start(spec: ChildSpec): Promise<ChildRun> {
    // A start that began before a stop (npm start's registration, interrupted) spawns nothing after it.
    this.#stopping.signal.throwIfAborted();
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    // A full disk or a log made unwritable is said once and costs the log, not the supervisor: an uncaught error
    // here would end it, and its exit handler would stop every child at once, tiers and grace periods skipped.
    log.once('error', (err) => {
      this.#options.say(
        `${spec.name}: cannot write its log ${spec.logFile} (${err.message}); its output is no longer logged`,
      );
    });
    const child: Supervised = {
      spec,
      log,
      run: undefined,
      servingSince: undefined,
      restarts: 0,
      restartTimer: undefined,
    };
    this.#children.push(child);
    return this.#bringUp(child);
  }

  /** The process IDs of the children's current runs (each also the ID of the run's process group). */
  get pids(): ReadonlyMap<string, number> {
    return new Map(this.#children.flatMap((c) => (c.run?.running === true ? [[c.spec.name, c.run.pid]] : [])));
  }

  /**
   * Stops every child, the highest tier first; each tier in parallel. Idempotent.
   * @returns a line for each child that was running and did not exit with code 0 (`ledger: killed by SIGKILL after
   *   15 s`): its stop was not clean, and whoever stopped it says so.
   */
  async stop(): Promise<string[]> {
    this.#stopping.abort(new SupervisorError('ABORTED', 'supervisor', 'the supervisor is stopping'));
    for (const child of this.#children) clearTimeout(child.restartTimer);
    // Those running now: one killed meanwhile (signalAll) is still reported with how it ended.
    const running = this.#children.filter((c) => c.run?.running === true);
    const tiers = [...new Set(this.#children.map((c) => c.spec.tier))].sort((a, b) => b - a);
    const unclean: string[] = [];
    for (const tier of tiers) {
      await Promise.all(
        running
          .filter((c) => c.spec.tier === tier)
          .map(async ({ spec, run }) => {
            const graceMs = spec.graceMs ?? this.#options.graceMs;
            const status = await run?.stop(graceMs);
            if (status === undefined || status.code === 0) return;
            const overran = status.signal === 'SIGKILL' ? ` after ${String(graceMs / 1000)} s` : '';
            unclean.push(`${spec.name}: ${describeExit(status)}${overran}`);
          }),
      );
    }
    await Promise.all(
      this.#children.map(
        (c) =>
          new Promise<void>((resolve) =>
            c.log.end(() => {
              resolve();
            }),
          ),
      ),
    );
    return unclean;
  }

  /**
   * Synchronously signals every running child's process group: for the process's `exit` handler, where nothing
   * can be awaited. SIGTERM lets them flush; their output pipes break with this process, so none outlives it.
   */
  signalAll(signal: NodeJS.Signals = 'SIGTERM'): void {
    for (const child of this.#children) {
      clearTimeout(child.restartTimer);
      if (child.run?.running === true) child.run.signalGroup(signal);
    }
  }

  async #bringUp(child: Supervised, restart = false): Promise<ChildRun> {
    const { spec } = child;
    const run = new ChildRun(spec.command(), child.log);
    child.run = run;
    child.servingSince = undefined;
    const runEnded = new AbortController();
    void run.exited.then(() => {
      runEnded.abort(new SupervisorError('CHILD_EXITED', spec.name, `${spec.name} exited`));
    });
    const timeout = AbortSignal.timeout(spec.readyTimeoutMs);
    const signal = AbortSignal.any([runEnded.signal, timeout, this.#stopping.signal]);
    try {
      await spec.ready(run, signal, restart);
      // What answered may not be this run (another process on its port): a run that has ended does not serve.
      if (!run.running) {
        await run.exited;
        signal.throwIfAborted();
      }
    } catch (err) {
      const why = { endedOnItsOwn: runEnded.signal.aborted, timedOut: timeout.aborted };
      await run.stop(spec.graceMs ?? this.#options.graceMs);
      throw this.#startFailure(spec, run, why, err);
    }
    child.servingSince = Date.now();
    void run.exited.then(() => {
      this.#ended(child, run);
    });
    return run;
  }

  #startFailure(
    spec: ChildSpec,
    run: ChildRun,
    { endedOnItsOwn, timedOut }: { endedOnItsOwn: boolean; timedOut: boolean },
    err: unknown,
  ): SupervisorError {
    const log = `log ${spec.logFile}`;
    if (this.#stopping.signal.aborted) {
      return new SupervisorError('ABORTED', spec.name, `${spec.name}: start interrupted`, { cause: err });
    }
    if (endedOnItsOwn && run.status) {
      const line = endedLine(spec.name, run.lastWords(), run.status, spec.logFile);
      return new SupervisorError('CHILD_EXITED', spec.name, line, {
        cause: err,
      });
    }
    // `ready` may say what it last saw (a node's failed health checks) in the error it gives up with.
    const detail = err instanceof Error && !(err instanceof DOMException) ? `: ${err.message}` : '';
    const why = timedOut ? `not serving after ${String(spec.readyTimeoutMs / 1000)} s${detail}` : String(err);
    const last = run.lastWords();
    return new SupervisorError(
      'CHILD_NOT_READY',
      spec.name,
      `${spec.name}: ${why}${last === undefined ? '' : `; its last line: ${last}`} (${log})`,
      { cause: err },
    );
  }

  /** A run that served has ended without being asked to: say so and restart it after the backoff. */
  #ended(child: Supervised, run: ChildRun): void {
    if (this.#stopping.signal.aborted || child.run !== run || !run.status) return;
    if (child.servingSince !== undefined && Date.now() - child.servingSince >= this.#backoff.resetAfterMs) {
      child.restarts = 0;
    }
    // Its error line if it wrote one; the last line of its log is just the last thing it did.
    const words = run.lastErrorLine();
    this.#scheduleRestart(
      child,
      `${child.spec.name} (pid ${String(run.pid)}) ${describeExit(run.status)}${words === undefined ? '' : `: ${words}`}`,
    );
  }

  #scheduleRestart(child: Supervised, what: string): void {
    const delayMs = Math.min(this.#backoff.initialMs * 2 ** child.restarts, this.#backoff.maxMs);
    child.restarts += 1;
    this.#options.say(`${what}; restarting it in ${String(delayMs / 1000)} s (restart ${String(child.restarts)})`);
    child.restartTimer = setTimeout(() => {
      this.#bringUp(child, true).then(
        (next) => {
          this.#options.say(`${child.spec.name} is serving again (pid ${String(next.pid)})`);
        },
        (err: unknown) => {
          if (this.#stopping.signal.aborted) return;
          this.#scheduleRestart(child, err instanceof Error ? err.message : String(err));
        },
      );
    }, delayMs);
  }
}
