/**
 * The messages between exchange.bench.ts and the bank's process it forks (exchange-requester-child.ts), over the
 * IPC channel, and the benchmark's own libp2p protocols served by the agency beside the exchange.
 */
import type { ReportQuery } from '../node/p2p/index.ts';

/** What the bench process sends. */
export type ToRequester =
  | {
      readonly type: 'start';
      /** Where the bank's node reaches the ledger, as the bank's User1. */
      readonly ledger: {
        readonly address: string;
        readonly cryptoDir: string;
        readonly consortiumFile: string;
        readonly channel: string;
        readonly chaincode: string;
      };
      readonly bundleJson: string;
      /** What the bank's chain index must hold before the benchmark starts (the agency's anchored records). */
      readonly indexed: readonly { readonly subject: string; readonly kind: string }[];
    }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly phase: 'echo' | 'bulk' | 'exchange';
      readonly queries: readonly ReportQuery[];
      readonly concurrency: number;
      readonly operations: number;
      readonly maxDurationMs: number;
      /** echo: bytes each way; bulk: bytes to receive; exchange: the content length an ACCEPTED report must have. */
      readonly bytes: number;
    };

/** What it answers. */
export type FromRequester =
  | { readonly type: 'identity'; readonly peerId: string; readonly address: string; readonly receiptKeySpki: string }
  | { readonly type: 'ready' }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly succeeded: number;
      readonly failed: number;
      readonly firstFailure?: string;
      readonly elapsedMs: number;
      readonly perSecond: number;
      readonly p50Ms: number;
      readonly p99Ms: number;
    }
  | { readonly type: 'error'; readonly id?: number; readonly message: string };

export const ECHO_PROTOCOL = '/lianxin/bench/echo/1.0.0';
export const BULK_PROTOCOL = '/lianxin/bench/bulk/1.0.0';
export const BANK_MSP = 'ShanghaiBankMSP';
