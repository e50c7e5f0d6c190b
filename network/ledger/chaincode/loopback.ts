import { Duplex } from 'node:stream';
import { peer } from '@hyperledger/fabric-protos';

/**
 * Two object-mode streams wired back to back. Writes are serialized and parsed again on the other side, so no
 * object is shared; a write that is not a ChaincodeMessage fails the stream, as a gRPC serialization error would.
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
        const copy = peer.ChaincodeMessage.deserializeBinary(msg.serializeBinary());
        setImmediate(() => other().push(copy));
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
