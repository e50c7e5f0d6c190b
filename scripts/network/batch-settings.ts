/**
 * How the channel's orderer cuts blocks (`npm run network -- batch`, batch-command.ts is the operator's command):
 * the channel config's BatchSize and BatchTimeout as its newest config block states them, or changed by a config
 * update signed by a majority of the orderer organisations' admins (`/Channel/Orderer/Admins`), which the ledger's
 * orderer applies from the next transaction, as Fabric's does.
 */
import { batchSettingsUpdate } from '../../network/client/index.ts';
import { readConfigBatch } from '../../network/ledger/block/index.ts';
import type { BatchOptions } from '../../network/ledger/index.ts';
import { ChannelChangeError, withAdmins, type ChannelAdminOptions, type ChannelConfig } from './channel-admins.ts';

export interface BatchSettingsOptions extends ChannelAdminOptions {
  /** Settings to change; the others keep the channel's values. None: only read them. */
  readonly change?: Readonly<Partial<BatchOptions>>;
}

export interface BatchSettings {
  readonly settings: BatchOptions;
  /** The config block that states them. */
  readonly configBlock: number;
  /** Whether this call's config update made that block (false: nothing asked, or already so). */
  readonly changed: boolean;
}

/**
 * @throws ChannelChangeError when the orderer refuses the update (Fabric's reason), no admin here can sign it, or an
 * AbsoluteMaxBytes below twice the channel's config block is asked: every later config update carries a changed
 * group whole, and one larger than AbsoluteMaxBytes is refused at Broadcast — this command's own, to undo it, too.
 */
export async function channelBatchSettings(o: Readonly<BatchSettingsOptions>): Promise<BatchSettings> {
  return withAdmins(o, async (session) => {
    const change = o.change ?? {};
    let seen = await session.current();
    const configBytes = seen.block.serializeBinary().length;
    if (change.absoluteMaxBytes !== undefined && change.absoluteMaxBytes < 2 * configBytes) {
      throw new ChannelChangeError(
        `AbsoluteMaxBytes ${String(change.absoluteMaxBytes)} is below twice the channel's config block ` +
          `(${String(configBytes)} bytes): later config updates, one undoing this included, could not be broadcast`,
      );
    }
    const asked = (now: ChannelConfig): boolean => {
      seen = now;
      const settings = readConfigBatch(now.config);
      return Object.entries(change).every(([name, value]) => settings[name as keyof BatchOptions] === value);
    };
    const updated = await session.update(
      'Orderer',
      (config) => batchSettingsUpdate(o.consortium.channel, config, change),
      asked,
      seen,
    );
    return {
      settings: readConfigBatch(seen.config),
      configBlock: seen.block.getHeader()?.getNumber() ?? 0,
      changed: updated !== undefined,
    };
  });
}
