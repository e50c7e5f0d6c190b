/**
 * For tests that show a path decodes nothing twice: `run`, with every call of a google-protobuf message type's
 * `deserializeBinary` counted, and the decoder put back however `run` ends.
 */
export async function countingDecodes<T>(
  type: { deserializeBinary: (bytes: Uint8Array) => unknown },
  run: () => Promise<T>,
): Promise<{ result: T; decodes: number }> {
  const original = type.deserializeBinary;
  let decodes = 0;
  type.deserializeBinary = (bytes) => {
    decodes++;
    return original(bytes);
  };
  try {
    const result = await run();
    return { result, decodes };
  } finally {
    type.deserializeBinary = original;
  }
}
