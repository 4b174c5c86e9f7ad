import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, q } from './api';
import { SideBySideDiff } from './diff';
import type {
  ChangeRequest,
  Drift,
  Identity,
  IntegrationRow,
  PatchOp,
  RequestView,
  SideBySide,
  StoredVersion,
  TimelineEntry,
  Verdict,
} from './types';
import { STATUSES } from './types';

const POLL_MS = 3_000;
const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

// ---------- small helpers ----------

function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** Loads `fn` now, again when `deps` change, and every POLL_MS while `live` (a board sees changes without reload). */
function usePolled<T>(fn: () => Promise<T>, deps: unknown[], live = true) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [at, setAt] = useState<Date | undefined>(undefined);
  const seq = useRef(0);
  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const value = await fn();
      if (mine !== seq.current) return;
      setData(value);
      setError(undefined);
      setAt(new Date());
    } catch (e) {
      if (mine !== seq.current) return;
      setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e)));
    }
  }, deps);
  useEffect(() => {
    setData(undefined);
    load();
    if (!live) return;
    const timer = setInterval(load, POLL_MS);
    return () => clearInterval(timer);
  }, [load, live]);
  return { data, error, at, reload: load };
}

function ErrorBox({ error }: { error?: ApiError | string }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  const session = typeof error !== 'string' && (error.code === 'aws-session-expired' || error.code === 'aws-credentials');
  return (
    <div class={`notice error${session ? ' session' : ''}`} role="alert">
      {session ? <strong>AWS sign-in needed: </strong> : <strong>Error: </strong>}
      {message}
    </div>
  );
}

function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

function Severity({ level }: { level: string }) {
  return <span class={`badge sev-${level}`}>{level}</span>;
}

function Updated({ at }: { at?: Date }) {
  return (
    <p class="muted small" aria-live="off">
      {at ? `Updated ${at.toLocaleTimeString()} · refreshes every ${POLL_MS / 1000}s` : 'Loading…'}
    </p>
  );
}

function TenantSelect(props: { tenants: string[]; value: string; onChange: (t: string) => void; allowAll?: boolean; id: string }) {
  return (
    <label for={props.id}>
      Tenant{' '}
      <select id={props.id} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        {props.allowAll && <option value="">all tenants</option>}
        {props.tenants.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
    </label>
  );
}

function PatchList({ patch }: { patch: PatchOp[] }) {
  return (
    <ul class="patch">
      {patch.map((p, i) => (
        <li key={i}>
          <code>{p.op}</code> <code>{p.path}</code> {p.value !== undefined && <code class="value">{JSON.stringify(p.value)}</code>}
        </li>
      ))}
    </ul>
  );
}

// ---------- Requests ----------

function RequestDetail({ id, onChanged }: { id: string; onChanged: () => void }) {
  const view = usePolled(() => api<RequestView>('GET', `/requests/${encodeURIComponent(id)}/view`), [id]);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const act = async (action: 'approve' | 'reject') => {
    setBusy(true);
    setResult(undefined);
    try {
      const r = await api<ChangeRequest>(
        'POST',
        `/requests/${encodeURIComponent(id)}/${action}`,
        action === 'reject' ? { reason } : undefined,
      );
      setResult({ ok: true, text: action === 'approve' ? `Approved: the request is now ${r.status}.` : 'Rejected.' });
      setReason('');
      onChanged();
      await view.reload();
    } catch (e) {
      setResult({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const v = view.data;
  if (!v) return view.error ? <ErrorBox error={view.error} /> : <p>Loading request {id}…</p>;
  const r = v.request;
  const open = r.status === 'pending';
  return (
    <section class="detail" aria-labelledby="detail-title">
      <h2 id="detail-title">
        {r.operation.kind} {r.resourceKey} <StatusBadge status={r.status} />
      </h2>
      <dl class="facts">
        <dt>Request</dt>
        <dd>
          <code>{r.id}</code> in tenant {r.tenant}
        </dd>
        <dt>Requested by</dt>
        <dd>{r.requester}</dd>
        <dt>Reason</dt>
        <dd>{r.reason}</dd>
        <dt>Proposed</dt>
        <dd>
          {when(r.createdAt)} ({age(r.createdAt)}); expires {when(r.expiresAt)}
        </dd>
        <dt>Approvals</dt>
        <dd>
          {r.approvals.length} of {r.approvalsRequired}
          {r.approvals.length > 0 && ` (${r.approvals.map((a) => a.by).join(', ')})`}
        </dd>
        {r.outcome?.error && (
          <>
            <dt>Outcome</dt>
            <dd class="bad">{r.outcome.error}</dd>
          </>
        )}
      </dl>
      {v.live.error ? (
        <ErrorBox error={v.live.error} />
      ) : (
        <>
          {!v.live.matchesBase && open && (
            <div class="notice warn" role="status">
              The live object changed since this request was proposed: applying it now would end as a conflict.
            </div>
          )}
          <SideBySideDiff
            caption="The change against the live object (now)"
            before={v.live.before}
            after={v.live.after}
            beforeLabel="Live in ISC now"
            afterLabel="After the change"
          />
        </>
      )}
      {v.base ? (
        <SideBySideDiff
          caption={`The change against the base it was proposed on (stored version ${v.base.version}, ${when(v.base.takenAt)}${v.base.matchesProposal ? '' : '; ISC held something else when it was proposed'})`}
          before={v.base.before}
          after={v.base.after}
          beforeLabel={`Base: version ${v.base.version}`}
          afterLabel="After the change"
        />
      ) : (
        <p class="muted">
          {r.operation.kind === 'create' ? 'A new integration: there is no base.' : 'No stored version before the proposal.'}
        </p>
      )}
      {open && (
        <div class="actions">
          <div>
            <button
              type="button"
              class="primary"
              disabled={busy || !v.approval.allowed}
              aria-describedby="approve-why"
              onClick={() => act('approve')}
            >
              Approve
            </button>
            <p id="approve-why" class={v.approval.allowed ? 'muted small' : 'why'}>
              {v.approval.allowed
                ? 'Your approval counts once; the last one queues it for apply.'
                : `You cannot approve this: ${v.approval.reason}`}
            </p>
          </div>
          <form
            class="reject"
            onSubmit={(e) => {
              e.preventDefault();
              act('reject');
            }}
          >
            <label for="reject-reason">Reason to reject</label>
            <input id="reject-reason" value={reason} required onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
            <button type="submit" disabled={busy || !reason.trim()}>
              Reject
            </button>
          </form>
        </div>
      )}
      {result && (
        <div class={`notice ${result.ok ? 'ok' : 'error'}`} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </div>
      )}
      <h3>History</h3>
      <ol class="history">
        {r.history.map((h, i) => (
          <li key={i}>
            {when(h.at)} {h.from ?? '—'} → <StatusBadge status={h.to} /> by {h.by}
            {h.note ? ` (${h.note})` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}

function RequestsPage({ tenants, me }: { tenants: string[]; me: string }) {
  const [status, setStatus] = useState('pending');
  const [tenant, setTenant] = useState('');
  const [selected, setSelected] = useState<string | undefined>(
    () => new URLSearchParams(location.hash.split('?')[1]).get('id') ?? undefined,
  );
  const list = usePolled(() => api<ChangeRequest[]>('GET', `/requests${q({ status, tenant })}`), [status, tenant]);
  const rows = [...(list.data ?? [])].reverse();
  return (
    <>
      <h1>Change requests</h1>
      <div class="filters">
        <label for="status-filter">
          Status{' '}
          <select id="status-filter" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <TenantSelect id="request-tenant" tenants={tenants} value={tenant} onChange={setTenant} allowAll />
      </div>
      <Updated at={list.at} />
      <ErrorBox error={list.error} />
      {list.data && rows.length === 0 && <p>No change requests{status ? ` with status ${status}` : ''}.</p>}
      {rows.length > 0 && (
        <table class="list">
          <caption class="sr-only">Change requests</caption>
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Status</th>
              <th scope="col">Tenant</th>
              <th scope="col">Requester</th>
              <th scope="col">Reason</th>
              <th scope="col">Age</th>
              <th scope="col">Approvals</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} class={selected === r.id ? 'selected' : ''}>
                <td>
                  <a
                    href={`#/requests?id=${encodeURIComponent(r.id)}`}
                    aria-current={selected === r.id ? 'true' : undefined}
                    onClick={() => setSelected(r.id)}
                  >
                    {r.operation.kind} {r.resourceKey}
                  </a>
                </td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td>{r.tenant}</td>
                <td>
                  {r.requester}
                  {r.requester === me && <span class="muted"> (you)</span>}
                </td>
                <td>{r.reason}</td>
                <td title={r.createdAt}>{age(r.createdAt)}</td>
                <td>
                  {r.approvals.length}/{r.approvalsRequired}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <RequestDetail key={selected} id={selected} onChanged={list.reload} />}
    </>
  );
}

// ---------- Drift ----------

function actorOf(d: Drift): string {
  const a = d.attribution;
  if (!a) return 'unknown (no attribution)';
  if (!a.actor) return `unknown (${a.reason ?? 'no audit event'})`;
  const others = (a.actors ?? []).filter((x) => x !== a.actor);
  return [
    a.actor,
    a.confidence && a.confidence !== 'exact' ? `(${a.confidence})` : '',
    a.eventTime ? `at ${when(a.eventTime)}` : '',
    others.length ? `, also ${others.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function DriftPage({ tenant }: { tenant: string }) {
  const [showAccepted, setShowAccepted] = useState(false);
  const list = usePolled(
    () => api<Drift[]>('GET', `/tenants/${encodeURIComponent(tenant)}/drift${q({ status: showAccepted ? undefined : 'open' })}`),
    [tenant, showAccepted],
  );
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState(() => new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const drifts = list.data ?? [];
  const toggle = (key: string) => {
    const next = new Set(chosen);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setChosen(next);
  };
  const openKeys = drifts.filter((d) => d.status === 'open').map((d) => d.key);
  const accept = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setResult(undefined);
    try {
      const done = await api<Drift[]>('POST', `/tenants/${encodeURIComponent(tenant)}/drift/accept`, { keys: [...chosen], reason, until });
      setResult({ ok: true, text: `Accepted ${done.length} drift${done.length === 1 ? '' : 's'} until ${until}.` });
      setChosen(new Set());
      setReason('');
      await list.reload();
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>Drift in {tenant}</h1>
      <div class="filters">
        <label>
          <input type="checkbox" checked={showAccepted} onChange={(e) => setShowAccepted((e.target as HTMLInputElement).checked)} /> show
          accepted drift too
        </label>
      </div>
      <Updated at={list.at} />
      <ErrorBox error={list.error} />
      {list.data && drifts.length === 0 && <p class="notice ok">No open drift: ISC holds what was approved or accepted.</p>}
      {drifts.length > 0 && (
        <form onSubmit={accept} aria-label="Accept drift">
          <table class="list">
            <caption class="sr-only">Drift</caption>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select all open drift"
                    checked={openKeys.length > 0 && openKeys.every((k) => chosen.has(k))}
                    onChange={(e) => setChosen(new Set((e.target as HTMLInputElement).checked ? openKeys : []))}
                  />
                </th>
                <th scope="col">Resource</th>
                <th scope="col">Change</th>
                <th scope="col">Severity</th>
                <th scope="col">Changed by</th>
                <th scope="col">Detected</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {drifts.map((d) => (
                <tr key={d.key}>
                  <td>
                    {d.status === 'open' && (
                      <input
                        type="checkbox"
                        aria-label={`Select drift on ${d.resource.name}`}
                        checked={chosen.has(d.key)}
                        onChange={() => toggle(d.key)}
                      />
                    )}
                  </td>
                  <td>
                    <strong>{d.resource.name}</strong>
                    <div class="muted small">{d.key}</div>
                    <details>
                      <summary>
                        {d.patch.length} field change{d.patch.length === 1 ? '' : 's'}
                      </summary>
                      <PatchList patch={d.patch} />
                    </details>
                  </td>
                  <td>{d.change}</td>
                  <td>
                    <Severity level={d.severity} />
                  </td>
                  <td>{actorOf(d)}</td>
                  <td title={d.detectedAt}>{age(d.detectedAt)}</td>
                  <td>
                    {d.status === 'open' ? (
                      <span class="badge status-conflict">open</span>
                    ) : (
                      <span>
                        accepted until {d.acceptance?.until.slice(0, 10)} by {d.acceptance?.by}: {d.acceptance?.reason}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <fieldset class="accept">
            <legend>Accept the selected drift ({chosen.size})</legend>
            <label for="accept-reason">Reason</label>
            <input id="accept-reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
            <label for="accept-until">Until</label>
            <input id="accept-until" type="date" required value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
            <button type="submit" class="primary" disabled={busy || chosen.size === 0 || !reason.trim()}>
              Accept {chosen.size > 1 ? `${chosen.size} drifts` : 'drift'}
            </button>
          </fieldset>
        </form>
      )}
      {result && (
        <div class={`notice ${result.ok ? 'ok' : 'error'}`} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </div>
      )}
    </>
  );
}

// ---------- History ----------

function VersionCompare({ tenant, resource }: { tenant: string; resource: string }) {
  const versions = usePolled(
    () => api<StoredVersion[]>('GET', `/tenants/${encodeURIComponent(tenant)}/versions${q({ key: resource })}`),
    [tenant, resource],
    false,
  );
  const list = versions.data ?? [];
  const [from, setFrom] = useState<number | undefined>(undefined);
  const [to, setTo] = useState<number | undefined>(undefined);
  const a = from ?? list.at(-2)?.version ?? list.at(-1)?.version;
  const b = to ?? list.at(-1)?.version;
  const diff = usePolled(
    () =>
      a && b
        ? api<SideBySide>('GET', `/tenants/${encodeURIComponent(tenant)}/compare${q({ key: resource, from: String(a), to: String(b) })}`)
        : Promise.resolve(undefined),
    [tenant, resource, a, b],
    false,
  );
  if (versions.error) return <ErrorBox error={versions.error} />;
  const pick = (label: string, id: string, value: number | undefined, set: (n: number) => void) => (
    <label for={id}>
      {label}{' '}
      <select id={id} value={String(value ?? '')} onChange={(e) => set(Number((e.target as HTMLSelectElement).value))}>
        {list.map((v) => (
          <option key={v.version} value={String(v.version)}>
            version {v.version} · {v.change} · {when(v.takenAt)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section aria-labelledby="versions-title">
      <h2 id="versions-title">Versions of {list.at(-1)?.ref.name ?? resource}</h2>
      <div class="filters">
        {pick('From', 'version-from', a, setFrom)}
        {pick('To', 'version-to', b, setTo)}
      </div>
      <ErrorBox error={diff.error} />
      {diff.data && (
        <SideBySideDiff
          caption={`Version ${a} against version ${b}`}
          before={diff.data.before}
          after={diff.data.after}
          beforeLabel={`Version ${a}`}
          afterLabel={`Version ${b}`}
        />
      )}
    </section>
  );
}

/** What the anchors outside the table said: compared, not configured, or records waiting for their anchor. */
function AnchorNote({ verdict }: { verdict: Verdict }) {
  const a = verdict.anchors;
  if (!a)
    return <p class="notice">Anchors: not checked (no anchor store configured), so a rewritten or truncated table could go unseen.</p>;
  return (
    <>
      <p class="notice">
        Anchors: {a.anchorsChecked} in {a.source}
        {a.lastAnchor ? `, the last at snapshot #${a.lastAnchor.seq} and journal entry #${a.lastAnchor.journalSeq}` : ', none yet'}.
      </p>
      {a.warnings.map((w) => (
        <p key={w} class="notice">
          Warning: {w}
        </p>
      ))}
    </>
  );
}

function HistoryPage({ tenant }: { tenant: string }) {
  const timeline = usePolled(() => api<TimelineEntry[]>('GET', `/tenants/${encodeURIComponent(tenant)}/history`), [tenant]);
  const resources = usePolled(() => api<IntegrationRow[]>('GET', `/tenants/${encodeURIComponent(tenant)}/integrations`), [tenant], false);
  const [resource, setResource] = useState(() => new URLSearchParams(location.hash.split('?')[1]).get('key') ?? '');
  const [verdict, setVerdict] = useState<Verdict | undefined>(undefined);
  const [verifyError, setVerifyError] = useState<ApiError | undefined>(undefined);
  const [verifying, setVerifying] = useState(false);
  const verify = async () => {
    setVerifying(true);
    setVerifyError(undefined);
    try {
      setVerdict(await api<Verdict>('GET', `/tenants/${encodeURIComponent(tenant)}/verify`));
    } catch (e) {
      setVerifyError(e as ApiError);
    } finally {
      setVerifying(false);
    }
  };
  const entries = (timeline.data ?? []).filter((s) => !resource || s.changes.some((c) => c.key === resource));
  return (
    <>
      <h1>History of {tenant}</h1>
      <div class="verify">
        <button type="button" onClick={verify} disabled={verifying}>
          {verifying ? 'Verifying…' : 'Verify the hash chain'}
        </button>
        <div aria-live="polite">
          {verdict &&
            (verdict.ok ? (
              <p class="notice ok">
                Verified at {when(verdict.checkedAt)}: {verdict.snapshotsChecked} snapshots and {verdict.versionsChecked} versions, every
                hash recomputed, no broken link; {verdict.journalEntriesChecked} journal entries and {verdict.recordsChecked}{' '}
                drift/ledger/request items checked.
              </p>
            ) : (
              <p class="notice error">
                Broken at {verdict.message ?? `snapshot #${verdict.firstBroken?.seq}: ${verdict.firstBroken?.reason}`}
              </p>
            ))}
          {verdict && <AnchorNote verdict={verdict} />}
        </div>
        <ErrorBox error={verifyError} />
      </div>
      <div class="filters">
        <label for="history-resource">
          Integration{' '}
          <select id="history-resource" value={resource} onChange={(e) => setResource((e.target as HTMLSelectElement).value)}>
            <option value="">the whole tenant</option>
            {(resources.data ?? []).map((r) => (
              <option key={r.key} value={r.key}>
                {r.ref.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {resource && <VersionCompare key={resource} tenant={tenant} resource={resource} />}
      <h2>Timeline</h2>
      <Updated at={timeline.at} />
      <ErrorBox error={timeline.error} />
      <ol class="timeline">
        {entries.map((s) => (
          <li key={s.seq}>
            <div>
              <strong>#{s.seq}</strong> {when(s.takenAt)} · {s.resourceCount} resources ·{' '}
              {s.baseline ? 'baseline' : `${s.changes.length} change${s.changes.length === 1 ? '' : 's'}`}{' '}
              <code class="muted">{s.hash.slice(0, 12)}</code>
            </div>
            {!s.baseline && s.changes.length > 0 && (
              <ul>
                {s.changes
                  .filter((c) => !resource || c.key === resource)
                  .map((c) => (
                    <li key={c.key}>
                      {c.change} {c.name ?? c.key} (version {c.version}) {c.severity && <Severity level={c.severity} />}{' '}
                      {c.classification && <span class={`badge cls-${c.classification}`}>{c.classification}</span>}
                      {c.requestId && <span class="muted small"> request {c.requestId}</span>}
                    </li>
                  ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}

// ---------- Integrations ----------

function IntegrationsPage({ tenant }: { tenant: string }) {
  const [search, setSearch] = useState('');
  const list = usePolled(
    () => api<IntegrationRow[]>('GET', `/tenants/${encodeURIComponent(tenant)}/integrations${q({ search })}`),
    [tenant, search],
  );
  return (
    <>
      <h1>Integrations in {tenant}</h1>
      <div class="filters">
        <label for="integration-search">
          Search{' '}
          <input
            id="integration-search"
            type="search"
            placeholder="name or id"
            value={search}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <Updated at={list.at} />
      <ErrorBox error={list.error} />
      {list.data && list.data.length === 0 && <p>No integration matches.</p>}
      {list.data && list.data.length > 0 && (
        <table class="list">
          <caption class="sr-only">Integrations</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Version</th>
              <th scope="col">Last change</th>
              <th scope="col">Drift</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((r) => (
              <tr key={r.key}>
                <td>
                  <a href={`#/history?key=${encodeURIComponent(r.key)}`}>{r.ref.name}</a>
                </td>
                <td>
                  <code class="small">{r.ref.id}</code>
                </td>
                <td>{r.version}</td>
                <td>
                  {r.lastChange ? (
                    <>
                      {r.lastChange.change} in #{r.lastChange.seq}, {age(r.lastChange.takenAt)}{' '}
                      {r.lastChange.classification && (
                        <span class={`badge cls-${r.lastChange.classification}`}>{r.lastChange.classification}</span>
                      )}
                    </>
                  ) : (
                    '—'
                  )}
                </td>
                <td>{r.drift ? <span class={`badge ${r.drift === 'open' ? 'status-conflict' : 'cls-accepted'}`}>{r.drift}</span> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

// ---------- the shell ----------

const PAGES = [
  ['requests', 'Requests'],
  ['drift', 'Drift'],
  ['history', 'History'],
  ['integrations', 'Integrations'],
] as const;
type Page = (typeof PAGES)[number][0];

function pageOf(hash: string): Page {
  const name = hash.replace(/^#\//, '').split('?')[0];
  return (PAGES.find(([p]) => p === name)?.[0] ?? 'requests') as Page;
}

function App() {
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [theme, setTheme] = useState(() => localStorage.getItem('theme') ?? 'auto');
  const identity = usePolled(() => api<{ caller: string }>('GET', '/whoami'), [], false);
  const tenants = usePolled(() => api<Array<{ name: string }>>('GET', '/tenants'), [], false);
  const names = (tenants.data ?? []).map((t) => t.name);
  const [tenant, setTenant] = useState(() => localStorage.getItem('tenant') ?? '');
  const current = names.includes(tenant) ? tenant : (names[0] ?? '');
  useEffect(() => {
    const onHash = () => setPage(pageOf(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    // "auto" follows the system setting, also when it changes while the page is open.
    const system = window.matchMedia('(prefers-color-scheme: dark)');
    const apply = () => {
      document.documentElement.dataset.theme = theme === 'auto' ? (system.matches ? 'dark' : 'light') : theme;
    };
    apply();
    localStorage.setItem('theme', theme);
    system.addEventListener('change', apply);
    return () => system.removeEventListener('change', apply);
  }, [theme]);
  useEffect(() => {
    document.title = `${PAGES.find(([p]) => p === page)?.[1]} · sdim-guard console`;
  }, [page]);
  const mode: Identity['mode'] = meta('console-mode') === 'aws' ? 'aws' : 'local';
  const me = identity.data?.caller ?? '';
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">sdim-guard</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map(([p, label]) => (
              <li key={p}>
                <a href={`#/${p}`} aria-current={p === page ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {page !== 'requests' && names.length > 0 && (
            <TenantSelect
              id="tenant"
              tenants={names}
              value={current}
              onChange={(t) => {
                setTenant(t);
                localStorage.setItem('tenant', t);
              }}
            />
          )}
          <span title={meta('console-target')}>
            {mode === 'aws' ? 'AWS' : 'local'} · <strong data-testid="caller">{me || '…'}</strong>
          </span>
          <label for="theme">
            <span class="sr-only">Colour theme</span>
            <select id="theme" value={theme} onChange={(e) => setTheme((e.target as HTMLSelectElement).value)}>
              <option value="auto">auto</option>
              <option value="light">light</option>
              <option value="dark">dark</option>
            </select>
          </label>
        </div>
      </header>
      <main id="main">
        <ErrorBox error={identity.error ?? tenants.error} />
        {page === 'requests' && <RequestsPage tenants={names} me={me} />}
        {page !== 'requests' && !current && tenants.data && <p>No tenant is known yet: take a snapshot first.</p>}
        {page === 'drift' && current && <DriftPage key={current} tenant={current} />}
        {page === 'history' && current && <HistoryPage key={current} tenant={current} />}
        {page === 'integrations' && current && <IntegrationsPage key={current} tenant={current} />}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
