import { type Identity, type Roster } from '@fedlab/governance';
import { openFromPeer } from '@fedlab/crypto';
import * as pb from '@fedlab/proto';
import { answerSealHeader } from '@fedlab/wire';

/**
 * A node's answer as its researcher reads it: a sealed table or evaluation report opened with the
 * reader's key (tests that drive a NodeAgent directly; the client does the same in readAnswer).
 */
export function unsealAnswer(answer: pb.NodeAnswer, reader: Identity, roster: Roster): pb.NodeAnswer {
  if (answer.outcome?.$case !== 'sealed') return answer;
  const { kind, ciphertext } = answer.outcome.value;
  const bytes = openFromPeer(reader, roster.get(answer.nodeId, 'node')!, answerSealHeader(answer.queryId, answer.nodeId, reader.id), ciphertext);
  const outcome: pb.NodeAnswer['outcome'] =
    kind === 'table' ? { $case: 'table', value: pb.ResultTable.decode(bytes) } : { $case: 'evaluation', value: pb.EvaluationReport.decode(bytes) };
  return { ...answer, outcome };
}
