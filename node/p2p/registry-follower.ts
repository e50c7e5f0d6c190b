/**
 * Keeps the node's registry view current from the chain's `RegistryChanged` events (chaincode/src/registry.ts),
 * so that a peer ID registered by a p2p key rotation, a new key or a suspension is honoured as soon as this node
 * has the block that commits it, not at the next poll.
 *
 * Invariant: once `following`, every registry change committed after the stream opened triggers a fresh read. The
 * stream starts at the chain's height read just before it opens, and the registry is read once more right after it
 * opens, so a change committed between the last read and the stream is not missed. When the stream breaks it is
 * reopened after a pause (with that read again); meanwhile the view is what it was, and the exchange's periodic
 * refresh still runs as a safety net.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LianxinChain, RegistryChange } from '../ledger/index.ts';

export interface RegistryFollowerComponents {
  readonly chain: Pick<LianxinChain, 'chainInfo' | 'registryChanges'>;
  /** Reads the whole registry from the chain into the view. */
  readonly refresh: () => Promise<void>;
  /** A broken event stream or a failed read; the node logs it. */
  readonly onError?: (error: unknown) => void;
}

export interface RegistryFollowerInit {
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

const DEFAULT_RETRY_INITIAL_MS = 100;
const DEFAULT_RETRY_MAX_MS = 5_000;

export class RegistryFollower {
  readonly #c: Readonly<RegistryFollowerComponents>;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #stopping = new AbortController();
  #close: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #following = false;
  #lastChange: RegistryChange | undefined;

  constructor(components: Readonly<RegistryFollowerComponents>, init: Readonly<RegistryFollowerInit> = {}) {
    this.#c = components;
    this.#retryInitialMs = init.retryInitialMs ?? DEFAULT_RETRY_INITIAL_MS;
    this.#retryMaxMs = init.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
  }

  /** Whether the registry events are followed now. */
  get following(): boolean {
    return this.#following;
  }

  /** The last registry change the view was refreshed for. */
  get lastChange(): RegistryChange | undefined {
    return this.#lastChange;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#close?.();
    await this.#running;
  }

  /** A method, not a property read: TypeScript would narrow `signal.aborted` to false across the awaits. */
  #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #run(): Promise<void> {
    let delay = this.#retryInitialMs;
    while (!this.#stopped()) {
      try {
        const { height } = await this.#c.chain.chainInfo();
        const changes = await this.#c.chain.registryChanges(height);
        this.#close = () => {
          changes.close();
        };
        if (this.#stopped()) changes.close();
        // Whatever committed before `height` and after the last read is read now.
        await this.#c.refresh();
        this.#following = true;
        for await (const change of changes) {
          await this.#c.refresh();
          this.#lastChange = change;
          delay = this.#retryInitialMs;
        }
      } catch (err) {
        if (!this.#stopped()) this.#c.onError?.(err);
      } finally {
        this.#following = false;
      }
      await sleep(delay * (0.5 + Math.random() / 2), undefined, { signal: this.#stopping.signal }).catch(
        () => undefined,
      );
      delay = Math.min(delay * 2, this.#retryMaxMs);
    }
  }
}
