/**
 * The orderer's batch settings as a channel config states them (`/Channel/Orderer` values BatchSize and
 * BatchTimeout), validated as Fabric's channelconfig validates them (common/channelconfig/orderer.go,
 * validateBatchSize and validateBatchTimeout) and with its texts: a config refused here is one Fabric's orderer would
 * not load either. The orderer cuts blocks by what the newest config block says, as Fabric's does.
 */
import { orderer, type common } from '@hyperledger/fabric-protos';
import type { BatchOptions } from '../orderer/batch-options.ts';
import { BlockFormatError } from './errors.ts';
import { parseGoDuration } from './go-duration.ts';

/** The Orderer group's values that hold the batch settings, by name, as their bytes. */
export function batchConfigValues(batch: Readonly<BatchOptions>): { BatchSize: Uint8Array; BatchTimeout: Uint8Array } {
  const size = new orderer.BatchSize();
  size.setMaxMessageCount(batch.maxTransactions);
  size.setAbsoluteMaxBytes(batch.absoluteMaxBytes);
  size.setPreferredMaxBytes(batch.preferredMaxBytes);
  const timeout = new orderer.BatchTimeout();
  // A Go duration, as Fabric parses it (time.ParseDuration).
  timeout.setTimeout(`${String(batch.batchTimeoutMs)}ms`);
  return { BatchSize: size.serializeBinary(), BatchTimeout: timeout.serializeBinary() };
}

/** How Fabric's bundle wraps an Orderer group it cannot load (channelconfig/channel.go, bundle.go). */
const ORDERER_GROUP_FAILED = 'initializing channelconfig failed: could not create channel Orderer sub-group config';

/** @throws BlockFormatError `BAD_CONFIG` naming what is missing or out of range, in Fabric's words. */
export function readConfigBatch(config: common.Config): BatchOptions {
  const fail = (reason: string, cause?: unknown): never => {
    throw new BlockFormatError('BAD_CONFIG', `${ORDERER_GROUP_FAILED}: ${reason}`, { cause });
  };
  const values = config.getChannelGroup()?.getGroupsMap().get('Orderer')?.getValuesMap();
  if (!values) return fail('the channel config has no Orderer group');
  const decoded = <T>(name: string, parse: (bytes: Uint8Array) => T): T => {
    const value = values.get(name);
    if (!value) return fail(`failed to deserialize values: the Orderer group has no ${name} value`);
    try {
      return parse(value.getValue_asU8());
    } catch (err) {
      return fail(`failed to deserialize values: cannot decode ${name}`, err);
    }
  };
  const size = decoded('BatchSize', (bytes) => orderer.BatchSize.deserializeBinary(bytes));
  const timeout = decoded('BatchTimeout', (bytes) => orderer.BatchTimeout.deserializeBinary(bytes));

  const maxTransactions = size.getMaxMessageCount();
  const absoluteMaxBytes = size.getAbsoluteMaxBytes();
  const preferredMaxBytes = size.getPreferredMaxBytes();
  if (maxTransactions === 0) fail('Attempted to set the batch size max message count to an invalid value: 0');
  if (absoluteMaxBytes === 0) fail('Attempted to set the batch size absolute max bytes to an invalid value: 0');
  if (preferredMaxBytes === 0) fail('Attempted to set the batch size preferred max bytes to an invalid value: 0');
  if (preferredMaxBytes > absoluteMaxBytes) {
    fail(
      `Attempted to set the batch size preferred max bytes (${String(preferredMaxBytes)}) greater than the absolute max bytes (${String(absoluteMaxBytes)}).`,
    );
  }
  let batchTimeoutMs = 0;
  try {
    batchTimeoutMs = parseGoDuration(timeout.getTimeout());
  } catch (err) {
    fail(`Attempted to set the batch timeout to a invalid value: ${(err as Error).message}`, err);
  }
  // Fabric prints Go's normal form of the duration (`0s` for `0ms`); this prints the config's own text.
  if (batchTimeoutMs <= 0) {
    fail(`Attempted to set the batch timeout to a non-positive value: ${timeout.getTimeout()}`);
  }
  return { maxTransactions, absoluteMaxBytes, preferredMaxBytes, batchTimeoutMs };
}
