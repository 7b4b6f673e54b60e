// The fetch dispatcher for a server with its own CA: kept apart so the client loads undici only when it talks TLS to
// such a server (undici costs a short command a good part of its start-up).
import { Agent, type Dispatcher } from 'undici';

/**
 * Trusts `ca` alone, as client-go does with a kubeconfig's certificate-authority: the server is the cluster's, not the
 * web's, and loading the system's hundred-odd roots besides costs each command more than the request itself.
 */
export const dispatcherTrusting = (ca: string): Dispatcher => new Agent({ connect: { ca } });
