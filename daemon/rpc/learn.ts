import path from 'node:path';
import { z } from 'zod';
import type { DaemonContext } from '../context.js';
import { INCIDENT_ID, learn } from '../learn/learn.js';
import { incidents } from '../learn/scan.js';
import { getLearning, listLearnings, type LearningRow } from '../store/learnings.js';
import { UserError } from '../errors.js';
import { unary } from './errors.js';
import { absentIfNull, deepAbsentIfNull, forRequest } from '../../common/wire-schema.js';
import type { LearnResponse } from '../../common/wire/rbk/v1/LearnResponse.js';
import type { Learning as LearningMessage } from '../../common/wire/rbk/v1/Learning.js';
import type { GetLearningRequest__Output } from '../../common/wire/rbk/v1/GetLearningRequest.js';
import type { IncidentsRequest__Output } from '../../common/wire/rbk/v1/IncidentsRequest.js';
import type { LearnRequest__Output } from '../../common/wire/rbk/v1/LearnRequest.js';
import type { ListLearningsRequest__Output } from '../../common/wire/rbk/v1/ListLearningsRequest.js';

const learnRequest = forRequest<LearnRequest__Output>()(
  z.object({
    sessionId: z.string().min(1, 'give a session id or a unique prefix of one (see: rbk sessions)').max(128),
    incidentId: z.union([
      z.literal(''),
      z.string().regex(INCIDENT_ID, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. INC-2041)'),
    ]),
    query: z.string().max(1000),
    applyRunbookUpdates: z.boolean(),
    outDir: z.union([
      z.literal(''),
      z
        .string()
        .max(4096)
        .refine((p) => path.isAbsolute(p) && !p.includes('\0'), 'must be an absolute directory path'),
    ]),
    synthesizer: z.enum(['', 'extractive', 'anthropic', 'openai'], { message: 'synthesizer must be extractive, anthropic or openai' }),
  }),
);
const listRequest = forRequest<ListLearningsRequest__Output>()(z.object({ limit: z.number().int().min(0).max(10_000) }));
const getRequest = forRequest<GetLearningRequest__Output>()(
  z.object({
    id: z
      .string()
      .min(1, 'give a learning id (see: rbk learnings)')
      .max(128)
      .regex(/^[A-Za-z0-9_-]+$/, 'learning ids are letters, digits, "_" and "-"'),
  }),
);
const incidentsRequest = forRequest<IncidentsRequest__Output>()(
  z.object({ minSessions: z.number().int().min(0).max(100_000), limit: z.number().int().min(0).max(100_000) }),
);

function learningToProto(l: LearningRow & { sessions?: number }): LearningMessage {
  return absentIfNull({
    id: l.id,
    kind: l.kind,
    signatureId: l.signature_id,
    signature: l.signature,
    title: l.title,
    fix: l.fix,
    verification: l.verification,
    firstSeenUnixMs: l.first_seen,
    lastSeenUnixMs: l.last_seen,
    docPath: l.doc_path,
    sessions: l.sessions ?? 0,
    updatedUnixMs: l.updated_at,
  });
}

export function learnHandlers(ctx: DaemonContext) {
  return {
    Learn: unary(learnRequest, async (req) => {
      const result = await learn(ctx, {
        session: req.sessionId,
        incidentId: req.incidentId || undefined,
        query: req.query.trim() || undefined,
        applyRunbookUpdates: req.applyRunbookUpdates,
        outDir: req.outDir || undefined,
        synthesizer: req.synthesizer || undefined,
      });
      return { result: deepAbsentIfNull(result) } satisfies LearnResponse;
    }),
    ListLearnings: unary(listRequest, (req) => ({ learnings: listLearnings(ctx.db, req.limit || 100).map(learningToProto) })),
    GetLearning: unary(getRequest, (req) => {
      const found = getLearning(ctx.db, req.id);
      if (!found) throw new UserError(`no learning matches "${req.id}"; list them with: rbk learnings`, 'not-found');
      if ('ambiguous' in found) throw new UserError(`"${req.id}" matches several learnings (${found.ambiguous.join(', ')}); give more of the id`);
      return {
        learning: learningToProto({ ...found.learning, sessions: found.sources.length }),
        sources: found.sources.map((s) => ({ sessionId: s.session_id, runId: s.run_id, refs: JSON.parse(s.refs) as string[], createdUnixMs: s.created_at })),
      };
    }),
    Incidents: unary(incidentsRequest, (req) => ({
      incidents: incidents(ctx.db, { minSessions: req.minSessions || 1, limit: req.limit || undefined }).map((i) => ({
        signatureId: i.signatureId,
        signature: i.signature,
        toolName: i.toolName,
        example: i.example,
        occurrences: i.occurrences,
        sessions: i.sessions,
        firstSeenUnixMs: i.firstSeenUnixMs,
        lastSeenUnixMs: i.lastSeenUnixMs,
        resolvedSessions: i.resolvedSessions,
        fixes: i.fixes,
      })),
    })),
  };
}
