// The application shell: sign-in, the top bar with the namespace, the side navigation and the page routes.
import {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type FormEvent,
  type ReactNode,
} from 'react';
import type { KubeObject } from '../../src/resources/meta.ts';
import { ApiClient, ApiError } from './api/client.ts';
import { useCanI } from './api/access.ts';
import { ConnectionMonitor, useConnection } from './api/connection.ts';
import { paths } from './api/paths.ts';
import { useLiveList } from './api/use-watch.ts';
import { ConnectionIndicator, StaleNotice } from './components/connection-status.tsx';
import { TextField } from './components/field.tsx';
import { AuditPage } from './pages/audit.tsx';
import { DisksPage } from './pages/disks.tsx';
import { ImagesPage } from './pages/images.tsx';
import { MacPoolPage } from './pages/macpool.tsx';
import { NamespacesPage } from './pages/namespaces.tsx';
import { NetworksPage } from './pages/networks.tsx';
import { TokensPage } from './pages/tokens.tsx';
import { VmCreatePage } from './pages/vm-create.tsx';
import { VmDetailPage } from './pages/vm-detail.tsx';
import { VmEditPage } from './pages/vm-edit.tsx';
import { VmListPage } from './pages/vm-list.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import { legacyPath, namespacedPage, namespaceOf, urls } from './model/urls.ts';
import {
  NAMESPACE_POLL,
  SessionContext,
  shareSession,
  storeNamespace,
  storeToken,
  storedNamespace,
  storedToken,
  type Session,
} from './session.ts';

export function App(): ReactNode {
  const [token, setToken] = useState<string | null>(storedToken());
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const signedIn = useCallback((t: string) => {
    storeToken(t);
    setToken(t);
  }, []);
  const signedOut = useCallback(() => {
    storeToken(null);
    setToken(null);
  }, []);
  const shared = useRef<ReturnType<typeof shareSession>>(undefined);
  useEffect(() => {
    const s = shareSession({
      current: () => tokenRef.current,
      onToken: signedIn,
      onSignOut: signedOut,
    });
    shared.current = s;
    return () => s.close();
  }, [signedIn, signedOut]);
  // Signing out here signs out every tab; a token refused (401) is this tab's alone to drop.
  const signOut = useCallback(() => {
    shared.current?.announceSignOut();
    signedOut();
  }, [signedOut]);
  // A 401 signs out only the token it answered: requests of an earlier session still winding down (a watch re-listing
  // after its token was revoked) must not sign out whoever signed in since.
  const refused = useCallback(
    (t: string) => {
      if (tokenRef.current === t) signedOut();
    },
    [signedOut],
  );
  if (token === null) return <SignIn onSignedIn={signedIn} />;
  return <Shell token={token} onSignOut={signOut} onUnauthorized={refused} />;
}

function SignIn(props: { onSignedIn(token: string): void }): ReactNode {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Paste the API token (the server wrote it to <data-dir>/admin.token).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await new ApiClient(t).list(paths.namespaces());
      props.onSignedIn(t);
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 401
          ? 'The server did not accept this token.'
          : `Could not reach the API: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form className="signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <div className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">H</span> Harrow
        </div>
        <h1 id="signin-title">Sign in</h1>
        <p className="muted">
          Use a bearer token for the Harrow API — the same one kubectl and the CLI use.
        </p>
        <TextField
          label="API token"
          type="password"
          value={token}
          onChange={setToken}
          error={error}
          autoFocus
          required
          mono
        />
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

interface Toast {
  id: number;
  message: string;
  tone: 'info' | 'error';
}

/** Any answer from /healthz (open to all) means the server is there. */
const probeHealth = async (signal: AbortSignal): Promise<void> => {
  await fetch('/healthz', { signal, cache: 'no-store' });
};

function Shell(props: {
  token: string;
  onSignOut(): void;
  onUnauthorized(token: string): void;
}): ReactNode {
  const { onUnauthorized } = props;
  const monitor = useMemo(() => new ConnectionMonitor(probeHealth), []);
  useEffect(() => () => monitor.stop(), [monitor]);
  const api = useMemo(
    () => new ApiClient(props.token, () => onUnauthorized(props.token), monitor),
    [props.token, onUnauthorized, monitor],
  );
  const [chosenNamespace, setNs] = useState(storedNamespace());
  const { path, query } = useLocation();
  // A namespaced address (/ui/namespaces/NS/…) wins over the namespace chosen before, so a shared link shows its VM.
  const namespace = namespaceOf(path) ?? chosenNamespace;
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextToast = useRef(1);
  const namespaces = useLiveList<KubeObject>(api, paths.namespaces(), undefined, NAMESPACE_POLL);

  const setNamespace = useCallback((ns: string) => {
    storeNamespace(ns);
    setNs(ns);
  }, []);
  useEffect(() => {
    if (namespace !== chosenNamespace) setNamespace(namespace);
  }, [namespace, chosenNamespace, setNamespace]);
  const notify = useCallback((message: string, tone: 'info' | 'error' = 'info') => {
    const id = nextToast.current++;
    setToasts((t) => [...t.slice(-1), { id, message, tone }]);
    setTimeout(
      () => setToasts((t) => t.filter((x) => x.id !== id)),
      tone === 'error' ? 10_000 : 4_000,
    );
  }, []);
  const [harrowSubresources, setHarrowSubresources] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    let current = true;
    api.get<{ resources?: Array<{ name: string }> }>(paths.harrowSubresources()).then(
      (list) =>
        current && setHarrowSubresources(new Set((list.resources ?? []).map((r) => r.name))),
      () => undefined, // an older server without the group: no optional features
    );
    return () => {
      current = false;
    };
  }, [api]);
  const session: Session = useMemo(
    () => ({ api, namespace, setNamespace, notify, harrowSubresources }),
    [api, namespace, setNamespace, notify, harrowSubresources],
  );

  // A namespace remembered from another server may not exist here: fall back to default.
  useEffect(() => {
    if (
      namespaces.loaded &&
      namespaces.items.length > 0 &&
      !namespaces.items.some((n) => n.metadata.name === namespace)
    ) {
      setNamespace(
        namespaces.items.some((n) => n.metadata.name === 'default')
          ? 'default'
          : (namespaces.items[0]?.metadata.name ?? 'default'),
      );
    }
  }, [namespaces.loaded, namespaces.items, namespace, setNamespace]);

  const stale = useConnection(monitor).phase !== 'connected';
  // The start page and the addresses from before namespaced URLs (/ui/vms/NAME, /ui/disks, /ui/networks, …) open in the
  // current namespace.
  const redirect = path === '/' || path === '' ? urls.vms(namespace) : legacyPath(path, namespace);
  const search = query.toString();
  useEffect(() => {
    if (redirect) navigate(search ? `${redirect}?${search}` : redirect, { replace: true });
  }, [redirect, search]);
  // Switching namespace on a namespaced page opens the same section of the new one (for a VM's page, the list: the VM
  // shown belongs to the old namespace).
  const page = namespacedPage(path);
  const chooseNamespace = (ns: string): void => {
    setNamespace(ns);
    if (page) navigate(urls.section(ns, page.section));
  };

  // Tokens are admins' business: the link shows only when the server says this user may list them.
  const canListTokens = useCanI(api, { verb: 'list', group: 'harrow.io', resource: 'apitokens' });
  const section = page?.section ?? path.split('/')[1] ?? 'vms';
  const nav: Array<{ to: string; label: string; key: string }> = [
    { to: urls.vms(namespace), label: 'Virtual Machines', key: 'vms' },
    { to: urls.networks(namespace), label: 'Networks', key: 'networks' },
    { to: urls.disks(namespace), label: 'Disks', key: 'disks' },
    { to: urls.images(namespace), label: 'Images', key: 'images' },
    { to: '/macpool', label: 'MAC Pool', key: 'macpool' },
    { to: '/namespaces', label: 'Namespaces', key: 'namespaces' },
    ...(canListTokens ? [{ to: '/tokens', label: 'API Tokens', key: 'tokens' }] : []),
    { to: urls.audit(namespace), label: 'Audit Log', key: 'audit' },
  ];

  return (
    <SessionContext.Provider value={session}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            H
          </span>{' '}
          Harrow
        </div>
        <div className="topbar-ns">
          <label htmlFor="ns-select">Namespace</label>
          <select
            id="ns-select"
            value={namespace}
            onChange={(e) => chooseNamespace(e.target.value)}
          >
            {(namespaces.items.length > 0
              ? namespaces.items.map((n) => n.metadata.name)
              : [namespace]
            ).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <ConnectionIndicator monitor={monitor} />
        <button type="button" className="btn btn-ghost" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <div className="layout">
        <nav className="sidenav" aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.key}>
                <Link
                  to={n.to}
                  className={section === n.key ? 'active' : undefined}
                  aria-current={section === n.key ? 'page' : undefined}
                >
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" className="content" tabIndex={-1} data-stale={stale || undefined}>
          <StaleNotice monitor={monitor} />
          <Routes path={path} namespace={namespace} />
        </main>
      </div>
      <div className="toasts" aria-live="polite" role="status">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`}>
            {t.message}
          </div>
        ))}
      </div>
    </SessionContext.Provider>
  );
}

function Routes(props: { path: string; namespace: string }): ReactNode {
  const p = props.path;
  if (match('/namespaces/:ns/vms', p)) return <VmListPage />;
  if (match('/namespaces/:ns/vms/create', p)) return <VmCreatePage />;
  let m = match('/namespaces/:ns/vms/:name/edit', p);
  if (m) return <VmEditPage name={m['name'] as string} />;
  m = match('/namespaces/:ns/vms/:name/:tab?', p);
  if (m) return <VmDetailPage name={m['name'] as string} tab={m['tab'] ?? 'basics'} />;
  if (match('/namespaces/:ns/disks', p)) return <DisksPage />;
  if (match('/namespaces/:ns/images', p)) return <ImagesPage />;
  if (match('/namespaces/:ns/networks', p)) return <NetworksPage />;
  if (match('/namespaces/:ns/audit', p)) return <AuditPage />;
  if (legacyPath(p, props.namespace) !== undefined) return null; // redirected
  if (match('/macpool', p)) return <MacPoolPage />;
  if (match('/namespaces', p)) return <NamespacesPage />;
  if (match('/tokens', p)) return <TokensPage />;
  if (p === '/' || p === '') return null;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{p}</code>.{' '}
        <Link to={urls.vms(props.namespace)}>Virtual machines</Link>
      </p>
    </section>
  );
}
