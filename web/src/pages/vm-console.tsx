// The VM's serial console in the browser: xterm.js over KubeVirt's console subresource WebSocket, as virtctl console.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { BEARER_SUBPROTOCOL_PREFIX, CONSOLE_SUBPROTOCOL } from '../../../src/resources/types.ts';
import '@xterm/xterm/css/xterm.css';

type ConsoleState =
  { phase: 'connecting' } | { phase: 'connected' } | { phase: 'closed'; reason: string };

/** Browsers cannot set an Authorization header on a WebSocket: the token rides in a subprotocol, base64url-encoded. */
function bearerSubprotocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  const base64url = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return BEARER_SUBPROTOCOL_PREFIX + base64url;
}

function consoleUrl(namespace: string, vmi: string): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(vmi)}/console`;
}

/** Why the server ended the console, in words (its close reason when it gave one). */
function closeReasonOf(event: CloseEvent): string {
  if (event.reason) return event.reason;
  if (event.code === 1000) return 'the console was closed';
  return 'the server refused or dropped the console connection (is the VM running?)';
}

export function ConsoleTab(props: {
  namespace: string;
  name: string;
  token: string;
  running: boolean;
}): ReactNode {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<ConsoleState>({ phase: 'connecting' });
  const [attempt, setAttempt] = useState(0);
  const { namespace, name, token, running } = props;

  useEffect(() => {
    const element = host.current;
    if (!running || !element) return;
    let disposed = false;
    let dispose = (): void => undefined;
    setState({ phase: 'connecting' });
    // xterm.js is loaded only when a console is opened: most visits never need it.
    void import('@xterm/xterm').then(({ Terminal }) => {
      if (disposed) return;
      const term = new Terminal({
        convertEol: false,
        cursorBlink: true,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
        fontSize: 14,
        rows: 24,
        cols: 80,
        screenReaderMode: true,
      });
      term.open(element);
      const ws = new WebSocket(consoleUrl(namespace, name), [
        CONSOLE_SUBPROTOCOL,
        bearerSubprotocol(token),
      ]);
      ws.binaryType = 'arraybuffer';
      const encoder = new TextEncoder();
      ws.onopen = () => {
        setState({ phase: 'connected' });
        // Take the keyboard only when nothing else holds it: a tab chosen with the arrow keys keeps focus, as the
        // WAI-ARIA tabs pattern expects, and the user moves into the terminal with Tab or a click.
        if (!document.activeElement || document.activeElement === document.body) term.focus();
        // Ask the guest for a fresh prompt, as pressing Enter after `virtctl console` does.
        ws.send(encoder.encode('\r'));
      };
      ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
        term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
      };
      ws.onclose = (e) => {
        if (!disposed) setState({ phase: 'closed', reason: closeReasonOf(e) });
      };
      const typing = term.onData((data) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
      });
      dispose = () => {
        typing.dispose();
        ws.close();
        term.dispose();
      };
    });
    return () => {
      disposed = true;
      dispose();
    };
  }, [namespace, name, token, running, attempt]);

  if (!running) {
    return (
      <p className="muted" data-testid="console-state">
        The VM is not running: start it to use its serial console.
      </p>
    );
  }
  return (
    <div className="console">
      <p className="console-status" data-testid="console-state" role="status">
        {state.phase === 'connecting' ? 'Connecting to the serial console…' : null}
        {state.phase === 'connected'
          ? 'Connected to the serial console. Keys typed here go to the guest.'
          : null}
        {state.phase === 'closed' ? `Disconnected: ${state.reason}.` : null}
        {state.phase === 'closed' ? (
          <>
            {' '}
            <button
              type="button"
              className="btn btn-small"
              onClick={() => setAttempt((a) => a + 1)}
            >
              Reconnect
            </button>
          </>
        ) : null}
      </p>
      <div className="console-screen" ref={host} data-testid="console-screen" />
    </div>
  );
}
