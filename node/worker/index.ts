/** The retry loops shared by the node's durable outboxes (anchoring, notarization) and its chain-index follower. */
export { Backoff } from './backoff.ts';
export { OutboxWorker, type OutboxWorkerOptions } from './outbox-worker.ts';
