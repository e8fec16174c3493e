// What a synthesizer produces: the postmortem as claims, each citing the interaction ids it came
// from. The anthropic synthesizer's JSON is validated against the same schema.
import { z } from 'zod';

export const claimSchema = z
  .object({
    text: z.string().min(1).max(2000),
    refs: z.array(z.string().min(1).max(128)).max(50),
  })
  .strict();
export type Claim = z.infer<typeof claimSchema>;

/** The prose sections; Timeline and Evidence are always built from the session itself. */
export const narrativeSchema = z
  .object({
    summary: z.array(claimSchema).min(1).max(10),
    impact: z.array(claimSchema).min(1).max(10),
    detection: z.array(claimSchema).min(1).max(10),
    rootCause: z.array(claimSchema).min(1).max(10),
    resolution: z.array(claimSchema).min(1).max(20),
    wentWell: z.array(claimSchema).min(1).max(10),
    wentPoorly: z.array(claimSchema).min(1).max(10),
    actionItems: z.array(claimSchema).min(1).max(15),
  })
  .strict();
export type Narrative = z.infer<typeof narrativeSchema>;

export interface TimelineItem {
  unixMs: number;
  text: string;
  refs: string[];
}

export interface Postmortem extends Narrative {
  title: string;
  timeline: TimelineItem[];
}

export const NARRATIVE_SECTIONS: { key: keyof Narrative; heading: string }[] = [
  { key: 'summary', heading: 'Summary' },
  { key: 'impact', heading: 'Impact' },
  { key: 'detection', heading: 'Detection' },
  { key: 'rootCause', heading: 'Root cause' },
  { key: 'resolution', heading: 'Resolution' },
  { key: 'wentWell', heading: 'What went well' },
  { key: 'wentPoorly', heading: 'What went poorly' },
  { key: 'actionItems', heading: 'Action items' },
];
