/**
 * The start-up the process tests with a known access share (the explorer's pages, the regulator's audit): node.yaml
 * for each member with libp2p on a free loopback port, one access seeded into the provider's journal while its
 * node is down (seeded-access.ts), then the nodes named to run started as daemons, serving.
 */
import { freeAddress } from './free-port.ts';
import { startDaemon, type DaemonProcess } from './node-daemon-process.ts';
import { writeNodeProcessConfig } from './node-process.ts';
import { seedRecordedAccess, type SeededAccess } from './seeded-access.ts';
import type { TestNetwork } from './test-node.ts';

export interface SeededNodesOptions {
  /** node.yaml settings of every member. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The members that get a node.yaml (the access's two institutions among them). */
  readonly members: readonly string[];
  /** The access to seed, before any node starts. */
  readonly access: Omit<SeededAccess, 'net' | 'configs'>;
  /** The members whose nodes run as daemons. */
  readonly running: readonly string[];
}

export interface SeededNodes {
  /** node.yaml of each member, by MSP ID. */
  readonly configs: Readonly<Record<string, string>>;
  /** The seeded access's receipt digest (hex). */
  readonly seededDigest: string;
  /** What each running node serves (gRPC and operations addresses), by MSP ID. */
  readonly serving: Readonly<Record<string, Awaited<DaemonProcess['serving']>>>;
}

/**
 * Configures, seeds and starts. Each daemon goes into `daemons` as soon as it is spawned, so the caller's
 * `afterAll` stops it even when another fails to start.
 */
export async function startSeededNodes(
  net: TestNetwork,
  options: SeededNodesOptions,
  daemons: DaemonProcess[],
): Promise<SeededNodes> {
  const configs: Record<string, string> = {};
  for (const mspId of options.members) {
    configs[mspId] = (
      await writeNodeProcessConfig(net, mspId, options.settings, { p2pListen: await freeAddress() })
    ).configFile;
  }
  const seededDigest = await seedRecordedAccess({ net, configs, ...options.access });
  const started = options.running.map((mspId) => {
    const daemon = startDaemon(configs[mspId] ?? '');
    daemons.push(daemon);
    return [mspId, daemon] as const;
  });
  // All awaited at once: a node that fails while another is still starting is reported, not left unhandled.
  const addresses = await Promise.all(started.map(async ([mspId, daemon]) => [mspId, await daemon.serving] as const));
  return { configs, seededDigest, serving: Object.fromEntries(addresses) };
}
