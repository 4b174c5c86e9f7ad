import middy from '@middy/core';
import type { ChangeDeps } from '../use-cases/change-requests';
import { type SweepResult, sweepRequests } from '../use-cases/sweep-requests';
import { changeDepsFromEnvironment } from './change-environment';
import { emitMetrics } from './metrics';

/** A request approved at least this long ago but never queued is sent again. */
const STRANDED_AFTER_MS = 2 * 60_000;

export async function main(deps: ChangeDeps): Promise<SweepResult> {
  const result = await sweepRequests(deps, STRANDED_AFTER_MS);
  emitMetrics({}, { RequestsExpired: result.expired, RequestsRequeued: result.requeued, RequestsResent: result.resent });
  return result;
}

let deps: ChangeDeps | undefined;

export const handler = middy<unknown, SweepResult>().handler(() => {
  deps ??= changeDepsFromEnvironment();
  return main(deps);
});
