/**
 * The closed set of error codes fedlab reports. Every refusal and failure that reaches a user carries
 * one of these codes and a one-line message that never contains record-level data.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: 'a request or file is malformed',
  INVALID_QUERY: 'the query does not follow the query model',
  SIGNATURE_INVALID: 'a signature does not verify',
  QUERY_EXPIRED: 'the query is past its expiry time',
  REPLAYED_NONCE: 'the query nonce was already used',
  UNKNOWN_RESEARCHER: 'the signer is not on the roster',
  RESEARCHER_NOT_ALLOWED: "the researcher is not allowed by this node's policy",
  PROJECT_NOT_ALLOWED: "the project is not allowed by this node's policy",
  PURPOSE_NOT_PERMITTED: 'the purpose is not permitted for a dataset the query touches',
  NO_POLICY: 'the node has no policy and answers nothing',
  ANALYSIS_NOT_ALLOWED: "the analysis kind is not allowed by this node's policy",
  UNKNOWN_DATASET: 'the dataset does not exist at this node',
  UNKNOWN_COLUMN: 'the column does not exist in the dataset',
  IDENTIFIER_NOT_ALLOWED: 'identifier columns cannot be filtered, grouped or measured',
  TYPE_MISMATCH: 'a value does not match the column type',
  ALL_CELLS_SUPPRESSED: 'disclosure control suppressed every cell',
  MESSAGE_TOO_LARGE: 'a message exceeds the size limit',
  ALREADY_RUNNING: 'another daemon already runs on this database: stop it, or give this one its own database',
  NODE_REPLACED: "another connection of this node replaced this one at the coordinator (the node's key is in use elsewhere)",
  NODE_NOT_ON_ROSTER: 'the node key is not on the roster',
  NODE_UNREACHABLE: 'the node is not connected',
  COORDINATOR_UNREACHABLE:
    'the coordinator could not be reached: check its address and that it is running; a coordinator that serves TLS needs its CA (--ca or FEDLAB_CA; a node: tls.ca_file)',
  NODE_DISCONNECTED: 'the node disconnected before answering',
  DEADLINE_EXCEEDED: 'the node did not answer in time',
  COORDINATOR_RESTARTED: 'the coordinator restarted while the query was in flight',
  NOT_FOUND: 'the requested object does not exist',
  PROJECT_EXPIRED: 'the project approval or its ethics approval has expired',
  PROJECT_REVOKED: "the project's approval at this node was revoked",
  COLUMN_NOT_APPROVED: 'a column the query touches is not approved for the project',
  NOT_A_MEMBER: 'the researcher is not a member of the project',
  ROSTER_INVALID: 'the roster is not signed by enough governance stewards, or is older than the one held',
  TREE_HEAD_INVALID: "the transparency log's signed tree head does not verify",
  INCLUSION_PROOF_INVALID: 'the query is not proven to be in the transparency log',
  LOG_INCONSISTENT: 'the transparency log is not consistent with an earlier tree head (it was rewritten)',
  LOG_ROLLBACK: 'the coordinator was restored from an older backup: its log is behind a tree head a node already verified',
  ROLE_NOT_ALLOWED: "the participant's role may not do this",
  DATASET_NOT_APPROVED: 'the dataset is not approved for the project at this node',
  DATASET_CHANGED: "the dataset was imported again during a model's rounds; the node refuses the rest of the fit",
  APPROVAL_INVALID: 'the approval is wider than the project asked for, or for another project version',
  THRESHOLD_NOT_MET: 'too few parties remain for the secure-aggregation threshold; nothing was released',
  SESSION_NOT_ALLOWED: 'a secure-aggregation session does not follow the signed query (participants, threshold, number of sessions or coefficients)',
  TRANSCRIPT_INVALID: "a round's transcript does not verify (a forged, altered or missing message)",
  TOO_FEW_NODES: 'fewer than two nodes contributed to a pooled result; nothing was released',
  POOLED_MISMATCH: 'the nodes of a pooled query do not describe the dataset the same way',
  MODEL_NOT_RELEASABLE: 'the model breaks a model disclosure rule (rows per parameter, residual df or factor levels)',
  MODEL_SINGULAR: 'the model matrix is singular (collinear or constant covariates)',
  INVALID_POINT: 'a received group element is malformed or is the identity element',
  TUPLE_WIDTH_MISMATCH: 'a linkage tuple list does not have the agreed width',
  SET_TOO_LARGE: "a linkage set is larger than the node's policy allows",
  COHORT_TOO_SMALL: 'a study group is smaller than the minimum number of persons',
  COHORT_DIFFERENCING: 'the cohort differs from an earlier cohort of the same project by fewer persons than the threshold',
  PROTOCOL_OUT_OF_ORDER: 'a protocol message was replayed or arrived out of order',
  PAYLOAD_NOT_FOR_THIS_NODE: 'a relayed payload is not encrypted to this node, or was altered',
  DECODE_OUT_OF_RANGE: 'an encrypted sum is outside the decodable range; nothing was released',
  LINKAGE_KEYS_MISMATCH: 'the nodes compute linkage keys of the same name differently',
  CLIENT_LIST_INVALID: "an organisation's client list has invalid, missing or duplicated rows",
  EVALUATION_NOT_OFFERED: 'this node does not run impact evaluations, or not for this organisation',
  EVALUATION_TOO_SMALL: 'fewer people than the minimum reached the final treatment group of an evaluation',
  EVALUATION_DIFFERENCING: "the evaluation's treatment group differs from an earlier one of the same organisation by fewer persons than the threshold",
  VERSION_INCOMPATIBLE: "the node's protocol version is outside the coordinator's compatibility window",
  CSV_HEADER_MISMATCH: 'the CSV header does not match the schema',
  CSV_COLUMN_COUNT: 'a CSV row has the wrong number of columns',
  CSV_BAD_VALUE: 'a CSV value does not match its column type',
  CSV_BAD_ENCODING: 'the CSV file is not valid UTF-8',
  SCHEMA_INVALID: 'the dataset schema file is invalid',
  SCHEMA_MISMATCH: "a dataset's data no longer matches its schema (a missing table, file or column, another type or nullability)",
  ENGINE_UNAVAILABLE: "the database server holding the node's datasets cannot be reached; the node answers again once it is back",
  POLICY_INVALID: 'the policy file is invalid',
  CONFIG_INVALID: 'the configuration file is invalid',
  KEY_FILE_INVALID: 'the key file is invalid or unreadable',
  TLS_HANDSHAKE_FAILED: 'the TLS handshake with the coordinator failed: an untrusted, expired or misnamed certificate, or a missing client certificate',
  BUDGET_EXHAUSTED: 'the query would spend more privacy budget than the project has left for the dataset at this node',
  BUDGET_INVALID: 'the privacy budget a query states, or an approval grants, is missing, not a positive finite number, or above the ceiling',
  BOUNDS_MISSING: 'a sum, mean or variance needs public bounds on its column, declared in the dataset schema',
  NOISE_UNREACHABLE: "the honest nodes' share of a pooled query's noise cannot reach its privacy target at this number of nodes",
  RANGE_EXCEEDED: "a pooled model's sums could exceed the widest range secure aggregation adds exactly",
  SCHEMA_CHANGE_REFUSED: 'the new schema would widen contribution bounds of a dataset that already answered queries',
  AUDIT_CHAIN_BROKEN: 'the audit chain does not verify',
  INTERNAL: 'an internal error occurred',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Returns true when `value` is one of fedlab's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/**
 * Thrown when a fedlab operation fails or is refused for a reason the user should see.
 * The message is one line, names what and where, and never carries record-level data.
 */
export class FedlabError extends Error {
  override readonly name = 'FedlabError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** Normalises any thrown value into a FedlabError; unknown failures become a generic INTERNAL error. */
  static from(error: unknown): FedlabError {
    if (error instanceof FedlabError) return error;
    return new FedlabError('INTERNAL', 'internal error', {});
  }
}

/** Returns true when `error` is a FedlabError, optionally with the given code. */
export function isFedlabError(error: unknown, code?: ErrorCode): error is FedlabError {
  return error instanceof FedlabError && (code === undefined || error.code === code);
}
