/**
 * How the channel's orderer cuts blocks (`npm run network -- batch`, batch-command.ts is the operator's command):
 * the channel config's BatchSize and BatchTimeout as its newest config block states them, or changed by a config
 * update signed by a majority of the orderer organisations' admins (`/Channel/Orderer/Admins`), which the ledger's
 * orderer applies from the next transaction, as Fabric's does.
 */
import { batchSettingsUpdate } from '../../network/client/index.ts';
import { readConfigBatch } from '../../network/ledger/block/index.ts';
import type { BatchOptions } from '../../network/ledger/index.ts';
import { withAdmins, type ChannelAdminOptions } from './channel-admins.ts';

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

/** @throws ChannelChangeError when the orderer refuses the update (Fabric's reason) or no admin here can sign it. */
export async function channelBatchSettings(o: Readonly<BatchSettingsOptions>): Promise<BatchSettings> {
  return withAdmins(o, async (session) => {
    const change = o.change ?? {};
    const asked = (settings: BatchOptions): boolean =>
      Object.entries(change).every(([name, value]) => settings[name as keyof BatchOptions] === value);
    const updated = await session.update(
      'Orderer',
      (config) => batchSettingsUpdate(o.consortium.channel, config, change),
      (now) => asked(readConfigBatch(now.config)),
    );
    const { block, config } = await session.current();
    return {
      settings: readConfigBatch(config),
      configBlock: block.getHeader()?.getNumber() ?? 0,
      changed: updated !== undefined,
    };
  });
}
