/**
 * The configuration system chaincode's read functions (core/scc/cscc/configure.go): GetConfigBlock answers the
 * channel's newest config block and GetChannelConfig its `common.Config`, serialized as a Fabric peer does, so
 * a verifier can take the channel's CA roots from the chain rather than from a folder it was handed.
 */
import type { common } from '@hyperledger/fabric-protos';
import { readConfig } from './block/index.ts';
import type { SystemChaincode } from './endorser/index.ts';
import type { ChaincodeResponse } from './types.ts';

export interface ConfigSource {
  /** Number of the newest config block. */
  readonly configBlockNumber: number;
  getBlock(blockNum: number): Promise<common.Block | undefined>;
}

const ok = (payload: Uint8Array): ChaincodeResponse => ({ status: 200, message: '', payload });
const fail = (message: string): ChaincodeResponse => ({ status: 500, message, payload: new Uint8Array() });

export function createCscc(source: ConfigSource): SystemChaincode {
  return {
    name: 'cscc',
    async invoke(functionName, args, channelId) {
      if (functionName !== 'GetConfigBlock' && functionName !== 'GetChannelConfig') {
        return fail(`Requested function ${functionName} not found.`);
      }
      const [channelArg] = args;
      if (!channelArg || args.length !== 1) return fail(`Incorrect number of arguments, ${String(args.length + 1)}`);
      const channel = Buffer.from(channelArg).toString();
      if (channel !== channelId) return fail(`Unknown chain ID, ${channel}`);
      const block = await source.getBlock(source.configBlockNumber);
      if (!block) return fail(`Unknown chain ID, ${channel}`);
      return ok(functionName === 'GetConfigBlock' ? block.serializeBinary() : readConfig(block).serializeBinary());
    },
  };
}
