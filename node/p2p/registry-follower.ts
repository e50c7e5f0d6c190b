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
import {
  ChainEventFollower,
  type ChainEventFollowerInit,
  type LianxinChain,
  type RegistryChange,
} from '../ledger/index.ts';

export interface RegistryFollowerComponents {
  readonly chain: Pick<LianxinChain, 'chainInfo' | 'registryChanges'>;
  /** Reads the whole registry from the chain into the view. */
  readonly refresh: () => Promise<void>;
  /** A broken event stream or a failed read; the node logs it. */
  readonly onError?: (error: unknown) => void;
}

export type RegistryFollowerInit = ChainEventFollowerInit;

export class RegistryFollower {
  readonly #events: ChainEventFollower<RegistryChange>;

  constructor(components: Readonly<RegistryFollowerComponents>, init: Readonly<RegistryFollowerInit> = {}) {
    const { chain, refresh, onError } = components;
    this.#events = new ChainEventFollower<RegistryChange>(
      chain,
      {
        open: (height) => chain.registryChanges(height),
        // Whatever committed before the stream's first block and after the last read is read now.
        opened: refresh,
        onEvent: refresh,
        ...(onError && { onError }),
      },
      init,
    );
  }

  /** Whether the registry events are followed now. */
  get following(): boolean {
    return this.#events.following;
  }

  /** The last registry change the view was refreshed for. */
  get lastChange(): RegistryChange | undefined {
    return this.#events.lastEvent;
  }

  start(): void {
    this.#events.start();
  }

  stop(): Promise<void> {
    return this.#events.stop();
  }
}
