import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store';
import { tenantResolver } from '../wiring';
import { anchorsFromEnvironment, snapshotIntervalFromEnvironment } from './anchors-environment';
import type { ApprovalApiDeps } from './approval-api';
import { fromEnvironment } from './aws-environment';
import { changeDepsFromEnvironment } from './change-environment';

let deps: ApprovalApiDeps | undefined;

export function approvalDepsFromEnvironment(): ApprovalApiDeps {
  if (deps) return deps;
  const { db, tableName } = fromEnvironment.table();
  const tenants = fromEnvironment.tenants();
  const settings = fromEnvironment.settings();
  deps = {
    ...changeDepsFromEnvironment(),
    tenants,
    history: new DynamoSnapshotStore(db, tableName),
    tenantFor: tenantResolver(tenants, fromEnvironment.secrets(), settings),
    maxAcceptanceDays: settings.maxAcceptanceDays,
    anchors: anchorsFromEnvironment(),
    snapshotIntervalMinutes: snapshotIntervalFromEnvironment(),
  };
  return deps;
}
