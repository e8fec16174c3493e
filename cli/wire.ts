// The daemon's messages as the CLI reads them, from the types generated from proto/ (common/wire,
// scripts/gen-wire.mjs). Nothing here is written by hand but Sent: proto3 lets a sub-message be
// absent (the generated types say `| null`), and rbkd's handlers always build them whole, so a
// response's sub-messages are typed present. Scalars keep their proto3 meaning: an `optional`
// field may be absent, every other one has its default.
import type { HookEvent__Output } from '../common/wire/rbk/v1/HookEvent.js';
import type { ImportProgress__Output } from '../common/wire/rbk/v1/ImportProgress.js';
import type { Interaction__Output } from '../common/wire/rbk/v1/Interaction.js';
import type { JobInfo__Output } from '../common/wire/rbk/v1/JobInfo.js';
import type { JobProgress__Output } from '../common/wire/rbk/v1/JobProgress.js';
import type { JobRun__Output } from '../common/wire/rbk/v1/JobRun.js';
import type { Incident__Output } from '../common/wire/rbk/v1/Incident.js';
import type { LearnResult__Output } from '../common/wire/rbk/v1/LearnResult.js';
import type { Learning__Output } from '../common/wire/rbk/v1/Learning.js';
import type { LiveEvent__Output } from '../common/wire/rbk/v1/LiveEvent.js';
import type { ModelUsage__Output } from '../common/wire/rbk/v1/ModelUsage.js';
import type { PinResponse__Output } from '../common/wire/rbk/v1/PinResponse.js';
import type { PullProgress__Output } from '../common/wire/rbk/v1/PullProgress.js';
import type { RetentionResponse__Output } from '../common/wire/rbk/v1/RetentionResponse.js';
import type { RetentionRows__Output } from '../common/wire/rbk/v1/RetentionRows.js';
import type { RetentionS3__Output } from '../common/wire/rbk/v1/RetentionS3.js';
import type { SearchHit__Output } from '../common/wire/rbk/v1/SearchHit.js';
import type { Session__Output } from '../common/wire/rbk/v1/Session.js';
import type { StatsResponse__Output } from '../common/wire/rbk/v1/StatsResponse.js';
import type { SyncProgress__Output } from '../common/wire/rbk/v1/SyncProgress.js';
import type { SyncStatusResponse__Output } from '../common/wire/rbk/v1/SyncStatusResponse.js';
import type { SyncSummary__Output } from '../common/wire/rbk/v1/SyncSummary.js';
import type { TimelineEntry__Output } from '../common/wire/rbk/v1/TimelineEntry.js';
import type { UsageResponse__Output } from '../common/wire/rbk/v1/UsageResponse.js';
import type { UsageRow__Output } from '../common/wire/rbk/v1/UsageRow.js';
import type { UsageTotals__Output } from '../common/wire/rbk/v1/UsageTotals.js';

export type Sent<T> = T extends (infer U)[] ? Sent<U>[] : T extends object ? { [K in keyof T]: Sent<Exclude<T[K], null>> } : T;

export type WireHookEvent = Sent<HookEvent__Output>;
export type WireImportProgress = Sent<ImportProgress__Output>;
export type WireInteraction = Sent<Interaction__Output>;
export type WireJobInfo = Sent<JobInfo__Output>;
export type WireJobProgress = Sent<JobProgress__Output>;
export type WireJobRun = Sent<JobRun__Output>;
export type WireIncident = Sent<Incident__Output>;
export type WireLearnResult = Sent<LearnResult__Output>;
export type WireLearning = Sent<Learning__Output>;
export type WireLiveEvent = Sent<LiveEvent__Output>;
export type WireModelUsage = Sent<ModelUsage__Output>;
export type WirePinResponse = Sent<PinResponse__Output>;
export type WirePullProgress = Sent<PullProgress__Output>;
export type WireRetentionResponse = Sent<RetentionResponse__Output>;
export type WireRetentionRows = Sent<RetentionRows__Output>;
export type WireRetentionS3 = Sent<RetentionS3__Output>;
export type WireSearchHit = Sent<SearchHit__Output>;
export type WireSession = Sent<Session__Output>;
export type WireStatsResponse = Sent<StatsResponse__Output>;
export type WireSyncProgress = Sent<SyncProgress__Output>;
export type WireSyncStatusResponse = Sent<SyncStatusResponse__Output>;
export type WireSyncSummary = Sent<SyncSummary__Output>;
export type WireTimelineEntry = Sent<TimelineEntry__Output>;
export type WireUsageResponse = Sent<UsageResponse__Output>;
export type WireUsageRow = Sent<UsageRow__Output>;
export type WireUsageTotals = Sent<UsageTotals__Output>;
