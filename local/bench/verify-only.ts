import { startDynamoDbLocal } from '../dynamodb-local';
import { renderVerify } from './run';
import { benchVerify } from './verify';

/** Only the verify benchmark (the full `npm run bench` takes many minutes): `npx tsx local/bench/verify-only.ts [snapshots]`. */
async function main(): Promise<void> {
  const snapshots = Number(process.argv[2] ?? 1000);
  const ddb = await startDynamoDbLocal();
  try {
    process.stdout.write(`${renderVerify(await benchVerify(ddb.endpoint, snapshots))}\n`);
  } finally {
    await ddb.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
