/**
 * The explorer's query parameters, validated at the trust boundary by the rules the rest of the node applies:
 * subjects and kinds by node/records' validateRecordRef (the chaincode's USCC check, lenient, and its record-kind
 * pattern, as AttestationService looks records up), audit filters by node/audit's own `checkAuditQuery`. Every parameter is attacker-controlled; an unknown
 * or repeated one is refused rather than ignored, and each message names the field.
 */
import { AuditError, checkAuditQuery, type AuditQuery } from '../audit/index.ts';
import { RecordValidationError, validateRecordRef } from '../records/index.ts';
import { ExplorerError } from './errors.ts';

export interface RecordQuery {
  /** The normalised Unified Social Credit Code. */
  readonly subject: string;
  readonly kind: string;
}

const invalid = (field: string, message: string) => new ExplorerError('INVALID_QUERY', message, { field });

/** The parameters' values by name, after refusing names outside `allowed` and names given twice. */
function single(params: URLSearchParams, allowed: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (!allowed.includes(name))
      throw invalid(name, `"${name}" is not a parameter here (expected ${allowed.join(', ')})`);
    if (values.has(name)) throw invalid(name, `"${name}" is given more than once`);
    values.set(name, value);
  }
  return values;
}

/** `?subject=…&kind=…` of the record page's lookups. @throws ExplorerError `INVALID_QUERY`. */
export function parseRecordQuery(params: URLSearchParams): RecordQuery {
  const values = single(params, ['subject', 'kind']);
  const subject = values.get('subject') ?? '';
  const kind = values.get('kind') ?? '';
  try {
    return { subject: validateRecordRef(subject, kind), kind };
  } catch (err) {
    if (err instanceof RecordValidationError) throw invalid(err.field, err.message);
    throw err;
  }
}

/**
 * `?subject=&institution=&from=&to=` of the audit page; empty values count as absent, and at least one filter is
 * required (the chain lists by subject, institution or time).
 * @throws ExplorerError `INVALID_QUERY`.
 */
export function parseAuditQuery(params: URLSearchParams): AuditQuery {
  const values = single(params, ['subject', 'institution', 'from', 'to']);
  const given = (name: string) => {
    const value = values.get(name)?.trim();
    return value === undefined || value === '' ? {} : { [name]: value };
  };
  const query: AuditQuery = { ...given('subject'), ...given('institution'), ...given('from'), ...given('to') };
  if (Object.keys(query).length === 0) {
    throw invalid('subject', 'give at least one of "subject", "institution", "from", "to"');
  }
  try {
    return checkAuditQuery(query);
  } catch (err) {
    if (err instanceof AuditError && err.code === 'INVALID_QUERY') {
      throw new ExplorerError('INVALID_QUERY', err.message, { ...(err.field && { field: err.field }), cause: err });
    }
    throw err;
  }
}
