import { S3Client } from '@aws-sdk/client-s3';
import { S3AnchorStore } from '../adapters/aws/s3-anchors';
import { getStringFromEnv } from './env';

// Its own module (like notifier-environment.ts), so only the functions that anchor or verify bundle the S3 client.

/** The history-anchors bucket (lib/history-anchors.ts): required, so a function deployed without it fails loudly. */
export function anchorsFromEnvironment(): S3AnchorStore {
  return new S3AnchorStore(new S3Client({}), getStringFromEnv('ANCHOR_BUCKET'));
}

/** Minutes between snapshots: verify fails on records unanchored for longer than two of them. */
export function snapshotIntervalFromEnvironment(): number {
  const raw = getStringFromEnv('SNAPSHOT_INTERVAL_MINUTES');
  const minutes = Number(raw);
  if (!Number.isInteger(minutes) || minutes < 1)
    throw new Error(`SNAPSHOT_INTERVAL_MINUTES must be a whole number of minutes, not '${raw}'`);
  return minutes;
}
