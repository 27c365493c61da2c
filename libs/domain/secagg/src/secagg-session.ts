import { FedlabError } from '@fedlab/model';
import { type RoundTranscript, defaultThreshold, sortIds } from './secagg-protocol';
import { SecAggServer, type SecAggServerOptions } from './secagg-server';

/**
 * What a node decides for itself, from the researcher-signed query, about the secure-aggregation
 * sessions it joins for that query (DESIGN.md §7.2 "Sessions are the node's decision"). Bonawitz's
 * guarantee holds per session; these terms keep a coordinator from combining sessions.
 */
export interface SessionTerms {
  /** This node's roster id. */
  nodeId: string;
  /** The nodes the signed query targets: every session names exactly these. */
  targets: readonly string[];
  /** Sessions the analysis needs: one for a table, the fit's fixed number of rounds for a model. */
  sessions: number;
  /**
   * The fewest survivors this node lets a session release with: at least ⌊2n/3⌋ + 1 of the targets,
   * more when its share of the noise was sized for more (a model asks for every target).
   */
  threshold: number;
}

/** A session a coordinator asks a node to join. */
export interface SessionRequest {
  participants: readonly string[];
  threshold: number;
}

/**
 * Counts and checks one query's sessions at one node. `admit` throws SESSION_NOT_ALLOWED for a
 * session that names other participants than the signed targets (or one twice), asks for a lower
 * threshold than the node's, or comes after the analysis has had all the sessions it needs; on
 * success the session counts as joined.
 */
export class SessionLedger {
  private joinedSessions = 0;
  private readonly targets: string;
  private readonly threshold: number;

  constructor(private readonly terms: SessionTerms) {
    const targets = sortIds(terms.targets);
    if (new Set(targets).size !== targets.length || !targets.includes(terms.nodeId)) {
      throw new FedlabError('INVALID_ARGUMENT', 'secagg: the signed query must target this node, and each node once');
    }
    if (!Number.isInteger(terms.sessions) || terms.sessions < 1) throw new FedlabError('INVALID_ARGUMENT', 'secagg: an analysis needs at least one session');
    this.targets = targets.join('\0');
    this.threshold = Math.min(targets.length, Math.max(defaultThreshold(targets.length), terms.threshold));
  }

  /** Sessions joined so far. */
  get joined(): number {
    return this.joinedSessions;
  }

  /** The threshold this node requires (its own, never the coordinator's). */
  get requiredThreshold(): number {
    return this.threshold;
  }

  admit(request: SessionRequest): void {
    const { sessions } = this.terms;
    if (this.joinedSessions >= sessions) {
      throw new FedlabError(
        'SESSION_NOT_ALLOWED',
        `secagg: this query's analysis needs ${sessions} secure-aggregation session${sessions === 1 ? '' : 's'} and this node has joined ${sessions}; it joins no more`,
        {
          sessions,
        },
      );
    }
    if (sortIds(request.participants).join('\0') !== this.targets || new Set(request.participants).size !== request.participants.length) {
      throw new FedlabError('SESSION_NOT_ALLOWED', 'secagg: a session must name exactly the nodes the signed query targets, each once');
    }
    if (!Number.isInteger(request.threshold) || request.threshold < this.threshold) {
      throw new FedlabError(
        'SESSION_NOT_ALLOWED',
        `secagg: the session would release with ${request.threshold} survivors; this node requires at least ${this.threshold}`,
        {
          threshold: this.threshold,
        },
      );
    }
    this.joinedSessions += 1;
  }
}

/**
 * Replays a finished round's transcript through a fresh server holding the participant's own view of
 * the round (its participants, id, query hash, threshold and length) and returns the sum it gives.
 * The sum is the one the coordinator decoded only if every message verifies: key advertisements and
 * masked inputs against the roster, the consistency signatures over the survivor set, and each
 * reconstructed secret against its signed commitment or advertised public key.
 *
 * @throws FedlabError TRANSCRIPT_INVALID naming the first message that does not verify.
 */
export async function verifyTranscript(round: SecAggServerOptions, transcript: RoundTranscript): Promise<Uint32Array> {
  const server = new SecAggServer(round);
  try {
    for (const message of transcript.advertisements) server.receiveAdvertisement(message);
    server.broadcastKeys();
    for (const message of transcript.shareKeys) server.receiveShareKeys(message);
    server.routeShares();
    for (const message of transcript.maskedInputs) server.receiveMaskedInput(message);
    server.consistencyRequest();
    for (const message of transcript.consistency) server.receiveConsistency(message);
    server.unmaskRequest();
    for (const message of transcript.unmaskings) server.receiveUnmask(message);
    return await server.aggregate();
  } catch (error) {
    throw new FedlabError('TRANSCRIPT_INVALID', `secagg: the previous round's transcript does not verify: ${FedlabError.from(error).message}`);
  }
}
