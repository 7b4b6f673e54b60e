// The shared worker's entry: every tab that connects gets a port to the one WatchHub (watch-hub.ts).
import { WatchHub } from './watch-hub.ts';

interface SharedWorkerScope {
  onconnect: ((e: MessageEvent) => void) | null;
  navigator: { locks?: ConstructorParameters<typeof WatchHub>[0] };
}

const scope = globalThis as unknown as SharedWorkerScope;
const hub = new WatchHub(scope.navigator.locks);
scope.onconnect = (e) => {
  for (const port of e.ports) hub.connect(port);
};
