/**
 * A node admits records and notarizations in a USCC mode of its own, without asking the chain for each batch
 * (ingest goes on while the ledger is down). Looser than the registry's mode, it would admit codes the consortium
 * refuses (a pilot-region code with a wrong check character in a strict registry); stricter, it only refuses codes
 * the consortium takes, which endangers nothing. So a node admits in the stricter of its `ingest.usccMode` and the
 * registry's mode, read at start, and warns when they differ: SetUsccMode never stops a node from starting. What it
 * logged is anchored either way (AnchorCheckpoint checks subjects by shape only).
 */
import type { UsccMode } from '../../chaincode/src/protocol.ts';
import { ChainError, type LianxinChain } from '../ledger/index.ts';
import type { Logger } from '../logging/index.ts';

/**
 * The mode the node admits in: `configured`, or strict when the registry's is strict. An unreachable ledger or an
 * empty registry (its bootstrap sets strict) leaves `configured`, and is only logged.
 */
export async function admissionUsccMode(
  chain: Pick<LianxinChain, 'getSettings'>,
  configured: UsccMode,
  logger: Logger,
): Promise<UsccMode> {
  let registry: UsccMode | undefined;
  try {
    registry = (await chain.getSettings())?.usccMode;
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    logger.warn({ err, usccMode: configured }, "cannot compare ingest.usccMode with the registry's USCC mode now");
    return configured;
  }
  if (registry === undefined || registry === configured) return configured;
  // The two differ, so one of them is strict.
  logger.warn(
    { usccMode: configured, registryUsccMode: registry, admitting: 'strict' },
    `ingest.usccMode is ${configured} but the consortium registry's USCC mode is ${registry}: admitting in strict; ` +
      `set ingest.usccMode to ${registry} (LIANXIN_INGEST_USCC_MODE) to follow the registry`,
  );
  return 'strict';
}
