/**
 * Reading transactions back out of a committed block, for event streams (internal/pkg/gateway/event/
 * transaction.go, core/peer/deliverevents.go). Invalid transactions stay in blocks and may not even parse, so
 * every step tolerates garbage and yields what it can.
 */
import { common, peer } from '@hyperledger/fabric-protos';

export interface BlockTransaction {
  readonly txId: string;
  readonly type: number;
  readonly validationCode: number;
  readonly events: readonly peer.ChaincodeEvent[];
}

export function blockTransactions(block: common.Block): BlockTransaction[] {
  const filter =
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array();
  return (block.getData()?.getDataList_asU8() ?? []).map((envelopeBytes, index) => {
    const validationCode = filter[index] ?? peer.TxValidationCode.NOT_VALIDATED;
    try {
      const payload = common.Payload.deserializeBinary(
        common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8(),
      );
      const channelHeader = common.ChannelHeader.deserializeBinary(
        payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
      );
      const type = channelHeader.getType();
      const events = type === common.HeaderType.ENDORSER_TRANSACTION ? chaincodeEvents(payload.getData_asU8()) : [];
      return { txId: channelHeader.getTxId(), type, validationCode, events };
    } catch {
      return { txId: '', type: -1, validationCode, events: [] };
    }
  });
}

function chaincodeEvents(transactionBytes: Uint8Array): peer.ChaincodeEvent[] {
  const events: peer.ChaincodeEvent[] = [];
  for (const action of peer.Transaction.deserializeBinary(transactionBytes).getActionsList()) {
    const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const prp = peer.ProposalResponsePayload.deserializeBinary(
      actionPayload.getAction()?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
    );
    const eventBytes = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()).getEvents_asU8();
    if (eventBytes.length > 0) events.push(peer.ChaincodeEvent.deserializeBinary(eventBytes));
  }
  return events;
}

/** FilteredBlock as the peer's DeliverFiltered sends it (deliverevents.go:292): no payloads. */
export function toFilteredBlock(block: common.Block, channelId: string): peer.FilteredBlock {
  const filtered = new peer.FilteredBlock();
  filtered.setChannelId(channelId);
  filtered.setNumber(block.getHeader()?.getNumber() ?? 0);
  filtered.setFilteredTransactionsList(
    blockTransactions(block).map((tx) => {
      const ftx = new peer.FilteredTransaction();
      ftx.setTxid(tx.txId);
      ftx.setType(
        tx.type < 0 ? common.HeaderType.MESSAGE : (tx.type as common.HeaderTypeMap[keyof common.HeaderTypeMap]),
      );
      ftx.setTxValidationCode(tx.validationCode as peer.TxValidationCodeMap[keyof peer.TxValidationCodeMap]);
      if (tx.type === common.HeaderType.ENDORSER_TRANSACTION) {
        const actions = new peer.FilteredTransactionActions();
        actions.setChaincodeActionsList(
          tx.events.map((event) => {
            const stripped = new peer.ChaincodeEvent();
            stripped.setChaincodeId(event.getChaincodeId());
            stripped.setTxId(event.getTxId());
            stripped.setEventName(event.getEventName());
            const action = new peer.FilteredChaincodeAction();
            action.setChaincodeEvent(stripped);
            return action;
          }),
        );
        ftx.setTransactionActions(actions);
      }
      return ftx;
    }),
  );
  return filtered;
}
