/**
 * The query system chaincode as Fabric apps call it through Evaluate (core/scc/qscc/query.go): the answers are
 * serialized protos, exactly what a Fabric peer returns, so the same application code works on both.
 */
import { common, peer } from '@hyperledger/fabric-protos';
import type { SystemChaincode } from './endorser/index.ts';
import type { ChaincodeResponse, TxLocation } from './types.ts';

export interface QueryableLedger {
  blockchainInfo(): common.BlockchainInfo;
  getBlock(blockNum: number): Promise<common.Block | undefined>;
  getTxLocation(txId: string): Promise<TxLocation | undefined>;
}

const ok = (payload: Uint8Array): ChaincodeResponse => ({ status: 200, message: '', payload });
const fail = (message: string): ChaincodeResponse => ({ status: 500, message, payload: new Uint8Array() });

export function createQscc(ledger: QueryableLedger): SystemChaincode {
  const blockOfTx = async (txId: string) => {
    const location = await ledger.getTxLocation(txId);
    const block = location && (await ledger.getBlock(location.blockNum));
    return location && block ? { location, block } : undefined;
  };
  return {
    name: 'qscc',
    async invoke(functionName, args, channelId) {
      const [channelArg, argBytes] = args;
      const channel = channelArg ? Buffer.from(channelArg).toString() : '';
      if (channel === '') return fail(`missing channel name for ${functionName}`);
      if (channel !== channelId) return fail(`channel ${channel} not found`);
      const arg = argBytes ? Buffer.from(argBytes).toString() : undefined;
      switch (functionName) {
        case 'GetChainInfo':
          return ok(ledger.blockchainInfo().serializeBinary());
        case 'GetBlockByNumber': {
          if (arg === undefined) return fail('missing 3rd argument for GetBlockByNumber');
          if (!/^\d{1,15}$/.test(arg)) return fail(`failed to parse block number ${JSON.stringify(arg)}`);
          const block = await ledger.getBlock(Number(arg));
          return block ? ok(block.serializeBinary()) : fail(`failed to get block number ${arg}: block not found`);
        }
        case 'GetBlockByTxID': {
          if (arg === undefined) return fail('missing 3rd argument for GetBlockByTxID');
          const found = await blockOfTx(arg);
          return found
            ? ok(found.block.serializeBinary())
            : fail(`failed to get block for txID ${arg}: no such transaction ID [${arg}] in index`);
        }
        case 'GetTransactionByID': {
          if (arg === undefined) return fail('missing 3rd argument for GetTransactionByID');
          const found = await blockOfTx(arg);
          const envelopeBytes = found?.block.getData()?.getDataList_asU8()[found.location.txNum];
          if (!found || !envelopeBytes)
            return fail(`failed to get transaction with id ${arg}: no such transaction ID [${arg}] in index`);
          const processed = new peer.ProcessedTransaction();
          processed.setTransactionenvelope(common.Envelope.deserializeBinary(envelopeBytes));
          processed.setValidationcode(found.location.code);
          return ok(processed.serializeBinary());
        }
        default:
          return fail(`requested function ${functionName} not found`);
      }
    },
  };
}
