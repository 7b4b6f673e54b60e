// Writes results in the format -o asks for: a table for people, the raw objects as JSON or YAML for programs.
import { stringify } from 'yaml';
import type { OutputFormat } from './args.ts';
import type { CliIO } from './context.ts';
import { formatTable, type Table } from './table.ts';

export function printTable(io: CliIO, table: Table, emptyMessage?: string): void {
  if (table.rows.length === 0) {
    if (emptyMessage) io.stderr.write(`${emptyMessage}\n`);
    return;
  }
  io.stdout.write(formatTable(table.headers, table.rows));
}

/** JSON or YAML of one value (an object, or a `List` of several). */
export function printData(io: CliIO, format: Exclude<OutputFormat, 'table'>, value: unknown): void {
  io.stdout.write(
    format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value, { lineWidth: 0 }),
  );
}

export const asList = (
  items: unknown[],
): { apiVersion: 'v1'; kind: 'List'; metadata: Record<string, never>; items: unknown[] } => ({
  apiVersion: 'v1',
  kind: 'List',
  metadata: {},
  items,
});
