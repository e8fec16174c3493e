import { z } from 'zod';
import { isSafeId } from '../../common/ids.js';
import type { DaemonContext } from '../context.js';
import { unary } from './errors.js';

const submitHook = z.object({
  eventId: z.string().refine(isSafeId, 'event_id must be 1-128 letters, digits, "-" or "_" (the hook sends a UUID)'),
  eventName: z.string().max(128),
  payload: z.instanceof(Buffer),
  hookStartedUnixMs: z.number().int().nonnegative(),
  sentUnixMs: z.number().int().nonnegative(),
  clientVersion: z.string().max(64),
});

export function ingestHandlers(ctx: DaemonContext) {
  return {
    SubmitHook: unary(submitHook, async (req) => {
      const result = await ctx.hookWriter.submit({
        eventId: req.eventId,
        eventName: req.eventName,
        payload: req.payload,
        hookStartedAt: req.hookStartedUnixMs || undefined,
        sentAt: req.sentUnixMs || undefined,
        via: 'direct',
        receivedAt: Date.now(),
      });
      return { stored: result.stored, sessionId: result.sessionId ?? '', problem: result.problem ?? '' };
    }),
  };
}
