// Plain-text tables and ages the way kubectl prints them: upper-case headers, columns three spaces apart.

export interface Table {
  headers: string[];
  rows: string[][];
}

/** Columns padded to their widest cell; the last column is not padded. Cells never contain newlines. */
export function formatTable(headers: string[], rows: string[][]): string {
  const clean = (s: string): string => s.replace(/[\r\n\t]+/g, ' ');
  const all = [headers, ...rows].map((r) => headers.map((_, i) => clean(r[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => width(r[i]!))));
  return (
    all
      .map((r) =>
        r
          .map((cell, i) =>
            i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell) + 3),
          )
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

// Display width: code points, so that `…` and `→` count as one column.
const width = (s: string): number => [...s].length;

/**
 * kubectl's HumanDuration: 45s, 5m10s, 2h5m, 3d4h, 400d, 2y100d — precise when recent, coarse when old.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const d = Math.floor(hours / 24);
    return h === 0 ? `${d}d` : `${d}d${h}h`;
  }
  const days = Math.floor(hours / 24);
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (days < 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Age of a timestamp at `now`; `<unknown>` when there is none. */
export function age(timestamp: string | undefined, now: Date): string {
  if (timestamp === undefined || timestamp === '') return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now.getTime() - t);
}

/** Shortens text to `max` code points with a trailing ellipsis. */
export function truncate(text: string, max: number): string {
  const cps = [...text];
  return cps.length <= max ? text : cps.slice(0, Math.max(0, max - 1)).join('') + '…';
}
