/**
 * The orderer's batch settings as a channel config states them (`/Channel/Orderer` values BatchSize and
 * BatchTimeout), validated as Fabric's channelconfig validates them (common/channelconfig/orderer.go,
 * validateBatchSize and validateBatchTimeout) and with its texts: a config refused here is one Fabric's orderer would
 * not load either. The orderer cuts blocks by what the newest config block says, as Fabric's does.
 */
import { orderer, type common } from '@hyperledger/fabric-protos';
import type { BatchOptions } from '../orderer/batch-options.ts';
import { BlockFormatError } from './errors.ts';
import { formatGoDuration, parseGoDuration } from './go-duration.ts';

/** The Orderer group's values that hold the batch settings, by name, as their bytes. */
export function batchConfigValues(batch: Readonly<BatchOptions>): { BatchSize: Uint8Array; BatchTimeout: Uint8Array } {
  const size = new orderer.BatchSize();
  size.setMaxMessageCount(batch.maxTransactions);
  size.setAbsoluteMaxBytes(batch.absoluteMaxBytes);
  size.setPreferredMaxBytes(batch.preferredMaxBytes);
  const timeout = new orderer.BatchTimeout();
  // A Go duration as Go prints one (`10ms`, `2s`), which Fabric parses with time.ParseDuration.
  timeout.setTimeout(formatGoDuration(BigInt(Math.round(batch.batchTimeoutMs * 1e6))));
  return { BatchSize: size.serializeBinary(), BatchTimeout: timeout.serializeBinary() };
}

/** How Fabric's bundle wraps an Orderer group it cannot load (channelconfig/channel.go, bundle.go). */
const ORDERER_GROUP_FAILED = 'initializing channelconfig failed: could not create channel Orderer sub-group config';

/**
 * An absent value reads as its zero message, as Fabric's DeserializeProtoValuesFromGroup leaves it, and is then
 * refused by the same checks (a BatchSize of zeros, a BatchTimeout of "").
 * @throws BlockFormatError `BAD_CONFIG` naming what is out of range, in Fabric's words.
 */
export function readConfigBatch(config: common.Config): BatchOptions {
  const fail = (reason: string, cause?: unknown): never => {
    throw new BlockFormatError('BAD_CONFIG', `${ORDERER_GROUP_FAILED}: ${reason}`, { cause });
  };
  const values = config.getChannelGroup()?.getGroupsMap().get('Orderer')?.getValuesMap();
  // What Fabric's orderer says of a config without one (multichannel/chainsupport.go checkResources).
  if (!values)
    throw new BlockFormatError('BAD_CONFIG', 'config update is not compatible: config does not contain orderer config');
  const decoded = <T>(name: string, parse: (bytes: Uint8Array) => T): T => {
    try {
      return parse(values.get(name)?.getValue_asU8() ?? new Uint8Array());
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
  let nanoseconds = 0n;
  try {
    nanoseconds = parseGoDuration(timeout.getTimeout());
  } catch (err) {
    fail(`Attempted to set the batch timeout to a invalid value: ${(err as Error).message}`, err);
  }
  if (nanoseconds <= 0n) {
    fail(`Attempted to set the batch timeout to a non-positive value: ${formatGoDuration(nanoseconds)}`);
  }
  return { maxTransactions, absoluteMaxBytes, preferredMaxBytes, batchTimeoutMs: Number(nanoseconds) / 1e6 };
}
