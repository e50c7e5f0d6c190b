/**
 * fabric-shim's contract parameter handling (contract-spi/datamarshall.js `handleParameters`) without the work it
 * does for log lines nobody prints.
 *
 * For every parameter of every transaction the stock method builds four DEBUG lines whatever the level
 * (`util.inspect` of the argument; JSON.stringify of its metadata, of its value and of its schema with all the
 * contract's components), and has ajv compile the parameter's schema again, which ajv answers from its cache only
 * after serializing the schema into a key (fast-json-stable-stringify): ≈ 5 % of the embedded ledger's busy time
 * per small transaction (bench/RESULTS.md, issue 13, ledger8). While DEBUG is off, a transaction whose parameters
 * all have a primitive schema (`string`, `number`, `boolean`: what TypeScript parameters of those types and a plain
 * JavaScript contract's `argN` get) and referring to no component takes the path below: the same serializer call,
 * a validator ajv compiled from the same schema on the parameter's first call and kept per parameter schema object
 * (the contract's components are not part of that key: such a schema does not read them), the same results and the
 * same errors in the same order. Everything else takes the stock method: DEBUG on, no parameter metadata, a wrong
 * parameter count (its error line and message), and schemas with a `$ref` anywhere or of arrays, whose serializer
 * rewrites the contract's components on first use, which changes what ajv compiles for the next call.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** As declared; hand-written metadata may lack what decorators always give. */
interface ParameterMetadata {
  readonly schema?: Readonly<Record<string, unknown>> | null;
}

interface PrimitiveParameter {
  readonly schema: Readonly<Record<string, unknown>>;
}

/** A transaction's entry in the contract metadata (`fabric:transactions`). */
interface TransactionMetadata {
  readonly parameters?: readonly (ParameterMetadata | undefined)[] | null;
}

type Validator = ((data: unknown) => boolean) & { readonly errors?: readonly { readonly message?: string }[] | null };

type HandleParameters = (
  this: DataMarshall,
  fn: TransactionMetadata,
  parameters: readonly Uint8Array[],
  loggerPrefix: string,
) => unknown[];

/** The fields of fabric-shim's DataMarshall this path uses (contract-spi/datamarshall.js). */
interface DataMarshall {
  readonly ajv: { compile(schema: object): Validator };
  readonly components: unknown;
  fromWireBuffer(data: Uint8Array, schema: object, loggerPrefix: string): { value: unknown; validateData: unknown };
  handleParameters: HandleParameters;
}

export interface DataMarshallClass {
  new (serializer: string, serializers: object, components: unknown): DataMarshall;
  readonly prototype: DataMarshall;
}

const STOCK = Symbol.for('lianxin.stockHandleParameters');

export const DataMarshall = require('fabric-shim/lib/contract-spi/datamarshall.js') as DataMarshallClass;
const prototype = DataMarshall.prototype as DataMarshall & { [STOCK]?: HandleParameters };
/** The library's own method (kept on the prototype once replaced: a second copy of this module finds it there). */
export const stockHandleParameters: HandleParameters = prototype[STOCK] ?? prototype.handleParameters;

// The datamarshall module's logger (fabric-shim's getLogger keeps one winston logger per name and, asked again, sets
// its level from CORE_CHAINCODE_LOGGING_LEVEL, as the library's own modules do when they load).
const logger = (
  require('fabric-shim/lib/logger.js') as { getLogger(name: string): { isLevelEnabled(level: string): boolean } }
).getLogger('contracts-spi/datamarshall.js');

const PRIMITIVE_TYPES: ReadonlySet<unknown> = new Set(['string', 'number', 'boolean']);

/** Per parameter schema object: whether it is a primitive type referring to nothing (no `$ref` at any depth). */
const primitive = new WeakMap<object, boolean>();

/**
 * Whether the fast path holds for `parameter`: a primitive type whose schema refers to no component. A `$ref`
 * anywhere (in `allOf`, `anyOf`, …) would make the validator depend on the contract's components, which the
 * serializer rewrites on a `$ref` parameter's first use, so ajv must compile it again as the stock method does.
 */
function isPrimitive(parameter: ParameterMetadata | undefined): parameter is PrimitiveParameter {
  const schema = parameter?.schema;
  if (schema == null) return false;
  let known = primitive.get(schema);
  if (known === undefined) {
    known = PRIMITIVE_TYPES.has(schema.type) && !JSON.stringify(schema).includes('"$ref"');
    primitive.set(schema, known);
  }
  return known;
}

/** Per DataMarshall (each has its own ajv), the validator of each parameter schema object of its metadata. */
const validators = new WeakMap<DataMarshall, WeakMap<object, Validator>>();

function validatorOf(marshall: DataMarshall, parameterSchema: object, schema: object): Validator {
  let own = validators.get(marshall);
  if (own === undefined) validators.set(marshall, (own = new WeakMap()));
  let validator = own.get(parameterSchema);
  if (validator === undefined) own.set(parameterSchema, (validator = marshall.ajv.compile(schema)));
  return validator;
}

export const handleParameters: HandleParameters = function handleParameters(fn, parameters, loggerPrefix) {
  const expected = fn.parameters;
  if (
    expected == null ||
    expected.length !== parameters.length ||
    !expected.every(isPrimitive) ||
    logger.isLevelEnabled('debug')
  ) {
    return stockHandleParameters.call(this, fn, parameters, loggerPrefix);
  }
  return expected.map((parameter, i) => {
    // the stock method's schema, which the serializer is given and ajv compiled from
    const schema = { properties: { prop: parameter.schema }, components: { schemas: this.components } };
    const validator = validatorOf(this, parameter.schema, schema);
    const data = parameters[i] as Uint8Array; // as many as expected, checked above
    const { value, validateData } = this.fromWireBuffer(data, schema, loggerPrefix);
    if (!validator({ prop: validateData })) {
      // the stock method's plain Error: its message is what the client gets (shim.error)
      const errors = JSON.stringify((validator.errors ?? []).map((err) => err.message));
      throw new Error(`Unable to validate parameter due to ${errors}`);
    }
    return value;
  });
};

/** Puts `handleParameters` on the shim's DataMarshall (every contract's, in this process). Idempotent. */
export function skipUnprintedParameterWork(): void {
  if (prototype[STOCK] !== undefined) return;
  Object.defineProperty(prototype, STOCK, { value: prototype.handleParameters });
  prototype.handleParameters = handleParameters;
}
