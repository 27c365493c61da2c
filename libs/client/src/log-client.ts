import { credentials as grpcCredentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { FedlabError } from '@fedlab/model';
import { initCrypto, verifyDetached, type Roster } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import { MemoryMerkleStore, MerkleTree, encodeTreeHead, leafHash, verifyConsistency, verifyInclusion } from '@fedlab/transparency';
import { fromServiceError } from '@fedlab/wire';

/** A tree head whose signature was checked against the roster. */
export interface TreeHeadView {
  size: number;
  rootHash: string;
  timestampMs: number;
  signerId: string;
}

/** One decoded log entry, with what it says in public terms. */
export interface LogEntryView {
  index: number;
  kind: string;
  loggedAtMs: number;
  signerId: string;
  /** For queries: the signed spec's public fields. */
  query?: { queryId: string; projectId: string; purpose: string; researcherId: string; targetNodes: string[]; analysis: string; dataset: string };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Reads and verifies the coordinator's public transparency log. Anyone may use it (an auditor, a
 * researcher, a steward): it needs the roster to check the coordinator's signature, and nothing else.
 */
export class LogClient {
  private readonly client: pb.TransparencyServiceClient;

  constructor(private readonly options: { address: string; roster: Roster; credentials?: ChannelCredentials; callTimeoutMs?: number }) {
    this.client = new pb.TransparencyServiceClient(options.address, options.credentials ?? grpcCredentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
  }

  /** The current signed tree head, verified; throws TREE_HEAD_INVALID when the signature is wrong. */
  async treeHead(): Promise<{ view: TreeHeadView; signed: pb.SignedTreeHead }> {
    await initCrypto();
    const r = await this.call<pb.GetTreeHeadRequest, pb.GetTreeHeadResponse>((q, m, o, cb) => this.client.getTreeHead(q, m, o, cb), {});
    const head = r.treeHead;
    if (!head) throw new FedlabError('TREE_HEAD_INVALID', 'tree head: none returned');
    const signer = this.options.roster.get(head.signerId, 'coordinator');
    const encoded = encodeTreeHead({ size: Number(head.size), rootHash: head.rootHash, timestampMs: Number(head.timestampMs) });
    if (!signer || !verifyDetached('sth', encoded, head.signature, signer.signPublicKey)) throw new FedlabError('TREE_HEAD_INVALID', 'tree head: signature does not verify');
    return { view: { size: Number(head.size), rootHash: hex(head.rootHash), timestampMs: Number(head.timestampMs), signerId: head.signerId }, signed: head };
  }

  /** Proves entry `index` is in the tree of the verified current head; returns the entry. */
  async proveInclusion(index: number): Promise<{ head: TreeHeadView; entry: LogEntryView; proof: string[] }> {
    const { view, signed } = await this.treeHead();
    const r = await this.call<pb.GetInclusionProofRequest, pb.GetInclusionProofResponse>((q, m, o, cb) => this.client.getInclusionProof(q, m, o, cb), {
      index: BigInt(index),
      treeSize: signed.size,
    });
    if (!verifyInclusion(leafHash(r.leaf), index, view.size, r.proof, signed.rootHash)) {
      throw new FedlabError('INCLUSION_PROOF_INVALID', `log entry ${index}: the inclusion proof does not match the signed tree head`);
    }
    return { head: view, entry: describeLeaf(index, r.leaf), proof: r.proof.map(hex) };
  }

  /**
   * Downloads every entry, recomputes the Merkle root and compares it with the signed head; with an
   * earlier head, also checks that the log only grew since (consistency proof).
   */
  async verify(since?: TreeHeadView): Promise<{ head: TreeHeadView; entries: LogEntryView[] }> {
    const { view, signed } = await this.treeHead();
    const tree = new MerkleTree(new MemoryMerkleStore());
    const entries: LogEntryView[] = [];
    for (let start = 0; start < view.size; ) {
      const r = await this.call<pb.GetLogEntriesRequest, pb.GetLogEntriesResponse>((q, m, o, cb) => this.client.getLogEntries(q, m, o, cb), {
        start: BigInt(start),
        end: BigInt(view.size),
      });
      if (r.leaves.length === 0) throw new FedlabError('LOG_INCONSISTENT', `the log returned no entries from ${start} although its head has ${view.size}`);
      for (const leaf of r.leaves) {
        entries.push(describeLeaf(start, leaf));
        tree.append(leaf);
        start += 1;
      }
    }
    if (hex(tree.rootHash(view.size)) !== view.rootHash) {
      throw new FedlabError('LOG_INCONSISTENT', `the ${view.size} entries served do not hash to the signed root`);
    }
    if (since && since.size > 0) {
      if (since.size > view.size) throw new FedlabError('LOG_INCONSISTENT', `the log shrank from ${since.size} to ${view.size} entries`);
      const r = await this.call<pb.GetConsistencyProofRequest, pb.GetConsistencyProofResponse>((q, m, o, cb) => this.client.getConsistencyProof(q, m, o, cb), {
        oldSize: BigInt(since.size),
        newSize: signed.size,
      });
      const oldRoot = Buffer.from(since.rootHash, 'hex');
      const ok = since.size === view.size ? since.rootHash === view.rootHash : verifyConsistency(since.size, view.size, oldRoot, signed.rootHash, r.proof);
      if (!ok) throw new FedlabError('LOG_INCONSISTENT', `the log of size ${view.size} is not consistent with the earlier head of size ${since.size}`);
    }
    return { head: view, entries };
  }

  close(): void {
    this.client.close();
  }

  private call<Req, Res>(fn: (req: Req, metadata: Metadata, options: { deadline: number }, cb: (e: unknown, r: Res) => void) => unknown, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn(request, new Metadata(), { deadline: Date.now() + (this.options.callTimeoutMs ?? 30_000) }, (error, response) => (error ? reject(fromServiceError(error)) : resolve(response)));
    });
  }
}

/** Decodes a log leaf into its public description (no signature checks: those belong to the entry's kind). */
export function describeLeaf(index: number, leaf: Uint8Array): LogEntryView {
  const entry = pb.LogEntry.decode(leaf);
  const view: LogEntryView = { index, kind: entry.kind, loggedAtMs: Number(entry.loggedAtMs), signerId: '' };
  if (entry.kind === 'query') {
    const envelope = pb.SignedEnvelope.decode(entry.payload);
    const spec = pb.QuerySpec.decode(envelope.payload);
    view.signerId = envelope.signerId;
    view.query = {
      queryId: spec.queryId,
      projectId: spec.projectId,
      purpose: spec.purpose,
      researcherId: spec.researcherId,
      targetNodes: spec.targetNodes,
      analysis: spec.analysis?.kind ?? '',
      dataset: spec.analysis?.dataset ?? '',
    };
  }
  return view;
}
