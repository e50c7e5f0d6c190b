import { Duplex } from 'node:stream';
import { peer } from '@hyperledger/fabric-protos';

/**
 * Two object-mode streams wired back to back, each write delivered to the other side on a later turn of the event
 * loop, as a network stream would. The message object itself crosses, not a serialized copy: a gRPC stream would
 * encode and decode every ChaincodeMessage (two object trees per message, most of the shim round trip's protobuf
 * cost), and nothing here needs the copy. Both ends build a fresh message for every send and never touch it
 * again; fabric-shim copies every payload it receives (handler.js mapFromChaincodeMessage, parseResponse); the
 * PeerHandler decodes request payloads, which the shim serialized itself, into new objects, and copies the one
 * field a contract may still hold a reference to, the event payload (peer-handler.ts simulationResult).
 * A write that is not a ChaincodeMessage still fails the stream, as a gRPC serialization error would.
 */
export function loopback(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (other: () => Duplex): Duplex =>
    new Duplex({
      objectMode: true,
      read() {
        // pushed by the other side's write
      },
      write(msg: unknown, _encoding, callback) {
        if (!(msg instanceof peer.ChaincodeMessage)) {
          callback(new TypeError('in-process chaincode stream: only ChaincodeMessage can be sent'));
          return;
        }
        try {
          copyChaincodeEvent(msg);
        } catch (err) {
          callback(err instanceof Error ? err : new TypeError(String(err)));
          return;
        }
        setImmediate(() => other().push(msg));
        callback();
      },
      final(callback) {
        setImmediate(() => other().push(null));
        callback();
      },
      destroy(err, callback) {
        setImmediate(() => other().destroy());
        callback(err);
      },
    });
  sides.push(
    make(() => sides[1] as Duplex),
    make(() => sides[0] as Duplex),
  );
  return [sides[0] as Duplex, sides[1] as Duplex];
}

/**
 * Replaces a message's chaincode event by a copy, so that a contract that reuses its event buffer after the
 * invocation returns cannot change what the peer endorses (over gRPC the event is encoded at this moment). Field
 * by field, the payload copied once: a serialize/deserialize round trip through google-protobuf cost several
 * times that for a 1.1 MB Anchored event (bench/RESULTS.md, issue 13 ledger-anchor).
 */
function copyChaincodeEvent(msg: peer.ChaincodeMessage): void {
  const event = msg.getChaincodeEvent();
  if (event === undefined) return;
  const copy = new peer.ChaincodeEvent();
  copy.setChaincodeId(event.getChaincodeId());
  copy.setTxId(event.getTxId());
  copy.setEventName(event.getEventName());
  copy.setPayload(new Uint8Array(event.getPayload_asU8()));
  msg.setChaincodeEvent(copy);
}
