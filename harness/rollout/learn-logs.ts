/**
 * `meshgate learn` end to end: stream the records of access logs into a Learner, then build the
 * proposal (learn-proposal.ts) on the current policy's trust settings, if given.
 */
import type { PolicyDocument } from '../policy/model';
import { readRecords, RecordTally, type ReadOptions } from '../records/read';
import { Learner, type LearnOptions } from './learn';
import { buildProposal, proposalBase, type Proposal, type ProposalBase } from './learn-proposal';

export interface LearnResult {
  learner: Learner;
  tally: RecordTally;
  base: ProposalBase;
  proposal: Proposal;
}

export async function learnLogs(files: string[], o: LearnOptions & ReadOptions & { current?: PolicyDocument; file?: string } = {}): Promise<LearnResult> {
  const learner = new Learner();
  const tally = new RecordTally();
  for await (const { record } of readRecords(files, tally, o)) learner.add(record);
  const base = proposalBase(learner, o.current);
  const s = learner.skipped;
  const header = [
    `Proposed by \`meshgate learn\` from ${learner.records} decision records (${files.map((f) => (f === '-' ? '<stdin>' : f)).join(', ')})`,
    ...(learner.first ? [`seen from ${learner.first} to ${learner.last}`] : []),
    `${learner.learned} learned; not learned: ${s.denied} denied, ${s.unauthenticated} unauthenticated, ${s.invalid} invalid requests`,
    'Each rule allows only what its identity was seen doing; review before enforcing.',
  ];
  const proposal = buildProposal(learner.rules(o), base, header, o.file);
  return { learner, tally, base, proposal };
}
