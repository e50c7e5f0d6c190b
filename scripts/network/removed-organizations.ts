/**
 * Institutions `network add-org --remove` took off the channel, recorded in the data directory
 * (`<data-dir>/run/removed-organizations.json`, kept by `down`) so that the removal sticks while the operator's
 * YAML still lists them: `npm start`'s admission and the registration of `up` and `npm start` skip them, saying
 * so, instead of re-adding a suspended institution to the channel. Only `add-org` of that institution takes it
 * out of the record again. The YAML is the operator's; no tool edits it.
 */
import { z } from 'zod';
import type { Organization } from '../../network/pki/index.ts';
import { replaceFile } from '../../network/fs/index.ts';
import { readStateFile, runPaths, type RunPaths } from './run-state.ts';

export interface Removal {
  readonly mspId: string;
  /** When `add-org --remove` recorded it (ISO 8601). */
  readonly removedAt: string;
  /**
   * The registry's time of the suspension the removal made; absent when the institution was suspended already
   * (the regulator's): re-adding lifts only this suspension, and only while it is the registration's latest change.
   */
  readonly suspendedAt?: string;
}

const SCHEMA = z.strictObject({
  removed: z.array(
    z.strictObject({ mspId: z.string().min(1), removedAt: z.iso.datetime(), suspendedAt: z.string().optional() }),
  ),
});

/** The institutions removed in this data directory, by MSP ID. */
export async function readRemovals(paths: RunPaths): Promise<ReadonlyMap<string, Removal>> {
  const recorded = await readStateFile(paths.removedFile, SCHEMA);
  return new Map((recorded?.removed ?? []).map((r) => [r.mspId, r]));
}

/**
 * Records `mspId` as removed, with the suspension this removal made (`suspendedAt`). Removed again, its first
 * removal's time is kept, and the suspension of the earlier removal unless this one made a newer one.
 */
export async function recordRemoval(paths: RunPaths, mspId: string, suspendedAt: string | undefined): Promise<void> {
  const removals = new Map(await readRemovals(paths));
  const earlier = removals.get(mspId);
  if (earlier !== undefined && suspendedAt === undefined) return;
  const removedAt = earlier?.removedAt ?? new Date().toISOString();
  removals.set(mspId, { mspId, removedAt, ...(suspendedAt === undefined ? {} : { suspendedAt }) });
  await writeRemovals(paths, removals);
}

/** Takes `mspId` out of the record (`add-org` re-admitted it); whether it was in it. */
export async function forgetRemoval(paths: RunPaths, mspId: string): Promise<boolean> {
  const removals = new Map(await readRemovals(paths));
  if (!removals.delete(mspId)) return false;
  await writeRemovals(paths, removals);
  return true;
}

/**
 * The YAML's organisations `npm start` and `up` bring in: those not removed in `dataDir`. Each one left out is
 * said in one line naming its YAML entry and how to bring it back.
 */
export async function activeOrganizations(
  dataDir: string,
  consortium: Readonly<{ organizations: readonly Organization[] }>,
  configFile: string,
  say: (line: string) => void,
): Promise<Organization[]> {
  const removals = await readRemovals(runPaths(dataDir));
  return consortium.organizations.filter((org) => {
    const removal = removals.get(org.mspId);
    if (removal === undefined) return true;
    say(
      `${org.mspId}: entry of ${configFile} skipped, removed by network add-org --remove at ${removal.removedAt} ` +
        `(delete the entry, or re-admit it: npm run network -- add-org --org ${org.mspId})`,
    );
    return false;
  });
}

async function writeRemovals(paths: RunPaths, removals: ReadonlyMap<string, Removal>): Promise<void> {
  await replaceFile(paths.removedFile, `${JSON.stringify({ removed: [...removals.values()] }, null, 2)}\n`);
}
