/** The loop shared by the node's durable outboxes (anchoring, notarization). */
export { OutboxWorker, type OutboxWorkerOptions } from './outbox-worker.ts';
