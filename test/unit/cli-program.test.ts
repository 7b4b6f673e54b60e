// The `harrow` command line as a whole: help, usage errors (exit 2), API errors (exit 1, `error: FIELD: MESSAGE`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError } from '../../src/cli/errors.ts';
import { ApiError } from '../../src/client/errors.ts';
import { runCliInProcess, vmFixture, type CliRun } from './cli-fixtures.ts';

const empty = mkdtempSync(join(tmpdir(), 'harrow-cli-'));
after(() => rmSync(empty, { recursive: true, force: true }));

const harrow = (args: string[], stdin = ''): Promise<CliRun> =>
  runCliInProcess(args, { env: { HOME: empty }, cwd: empty, stdin });

test('no command prints the overview; help COMMAND and COMMAND --help print its usage', async () => {
  const none = await harrow([]);
  assert.equal(none.code, 0);
  assert.match(none.stdout, /Commands:\n {2}serve/);
  for (const args of [
    ['help', 'set-mac'],
    ['set-mac', '--help'],
    ['-n', 'x', 'set-mac', '-h'],
  ]) {
    const r = await harrow(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: harrow set-mac \[options\] <VM> <IFACE> <MAC>\n/);
  }
});

test('help is generated from the declarations: every kind, the flags, the global flags', async () => {
  const get = (await harrow(['get', '--help'])).stdout;
  assert.match(get, /^Usage: harrow get \[options\] <TYPE> \[NAME\]\n/);
  assert.match(get, /^ {2}virtualmachineclones, vmclone/m);
  assert.match(get, /^ {2}apitokens/m);
  assert.match(get, /-l, --selector <SELECTOR> +label selector/);
  assert.match(get, /Global Options:\n(.*\n)* {2}-n, --namespace <NS>/);
  assert.match(
    (await harrow(['help', 'token', 'create'])).stdout,
    /--namespaces <NS\[,NS\.\.\.\]>/,
  );
  const unknown = await harrow(['help', 'gizmo']);
  assert.deepEqual(
    [unknown.code, unknown.stderr],
    [2, `error: unknown command "gizmo"\nsee 'harrow --help'\n`],
  );
});

test('usage errors exit 2 with one error line and where the help is, not the whole help', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['get'], /error: get: missing TYPE/],
    [['get', 'gizmos'], /error: get: unknown resource type "gizmos"/],
    [['get', 'vm', '--vm', 'x'], /error: get: --vm applies to audit and events only/],
    [['set-mac', 'vm-a'], /error: set-mac: missing IFACE MAC/],
    [['exec', 'vm-a'], /error: exec: missing the command to run/],
    [['start', 'vm-a', '--timeout', 'later'], /error: --timeout "later"/],
    [['get', 'vm', '--', 'x'], /error: get: unexpected --/],
    [['serve', '--runtime', 'kvm'], /error: serve: --runtime kvm: one of sim, qemu, auto/],
    [['create'], /error: create: -f FILE is required/],
    [['get', 'vm', 'a', 'b'], /error: get: unexpected argument "b"/],
    [['get', 'vm', '--frobnicate'], /error: get: unknown flag --frobnicate/],
    [['describe', 'vm', 'a', '-o', 'wide'], /error: -o wide: only get prints wide tables/],
    [['token', 'rotate'], /error: token: unknown subcommand "rotate" \(create, list, revoke\)/],
  ];
  for (const [args, re] of cases) {
    const r = await harrow(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.equal(lines[1], `see 'harrow ${args[0]} --help'`);
  }
  const unknown = await harrow(['frobnicate']);
  assert.deepEqual(
    [unknown.code, unknown.stderr],
    [2, `error: unknown command "frobnicate"\nsee 'harrow --help'\n`],
  );
});

test('no kubeconfig anywhere: exit 1 and say where it looked', async () => {
  const r = await harrow(['get', 'vm']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: no kubeconfig found \(looked in .*\.harrow\/kubeconfig/);
});

test('create -f - reports a manifest of an unknown kind by document number', async () => {
  const r = await harrow(
    ['--server', 'http://127.0.0.1:9', '--token', 't', 'create', '-f', '-'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
  );
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error: stdin#1: kind ConfigMap is not served by Harrow\n');
});

test('API errors print one `error: FIELD: MESSAGE` line per cause, or the Status message', () => {
  const field = 'spec.template.spec.domain.devices.interfaces[0].macAddress';
  const withCauses = new ApiError({
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code: 409,
    reason: 'Conflict',
    message: 'VirtualMachine "vm-a" is invalid',
    details: {
      causes: [
        {
          reason: 'FieldValueDuplicate',
          field,
          message: 'MAC 02:00:00:00:00:02 is in use by default/vm-b (interface default)',
        },
      ],
    },
  });
  assert.equal(
    formatError(withCauses),
    `error: ${field}: MAC 02:00:00:00:00:02 is in use by default/vm-b (interface default)\n`,
  );
  const plain = new ApiError({
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code: 404,
    reason: 'NotFound',
    message: 'virtualmachines.kubevirt.io "x" not found',
  });
  assert.equal(formatError(plain), 'error: virtualmachines.kubevirt.io "x" not found\n');
});

// A scripted API for the whole set-mac path: GET the VM, PATCH it, read the result.
let api: Server;
let apiUrl = '';
const patches: unknown[] = [];
before(async () => {
  const vm = vmFixture('vm-a', [{ name: 'default', mac: '02:00:00:00:00:01' }]);
  api = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const send = (code: number, v: unknown): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (
        req.method === 'GET' &&
        req.url === '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/vm-a'
      )
        return send(200, vm);
      if (
        req.method === 'GET' &&
        req.url === '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm-a'
      ) {
        return send(404, {
          apiVersion: 'v1',
          kind: 'Status',
          status: 'Failure',
          code: 404,
          reason: 'NotFound',
          message: 'not found',
        });
      }
      if (req.method === 'PATCH') {
        patches.push({
          contentType: req.headers['content-type'],
          url: req.url,
          body: JSON.parse(body),
        });
        const ops = JSON.parse(body) as Array<{ op: string; value?: unknown }>;
        const mac = ops.at(-1)!.value;
        if (mac === '02:00:00:00:00:02') {
          return send(409, {
            apiVersion: 'v1',
            kind: 'Status',
            status: 'Failure',
            code: 409,
            reason: 'Conflict',
            message: 'MAC in use',
            details: {
              causes: [
                {
                  reason: 'FieldValueDuplicate',
                  field: 'spec.template.spec.domain.devices.interfaces[0].macAddress',
                  message: 'MAC 02:00:00:00:00:02 is in use by default/vm-b (interface default)',
                },
              ],
            },
          });
        }
        const next = structuredClone(vm);
        next.spec.template.spec.domain.devices.interfaces![0]!.macAddress = String(mac)
          .toLowerCase()
          .replaceAll('-', ':');
        return send(200, next);
      }
      send(404, {
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Failure',
        code: 404,
        reason: 'NotFound',
        message: `${req.method} ${req.url}`,
      });
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => api.close(() => r())));

test('set-mac: a MAC held by another VM prints the field error and exits 1', async () => {
  const r = await harrow([
    '--server',
    apiUrl,
    '--token',
    't',
    'set-mac',
    'vm-a',
    'default',
    '02:00:00:00:00:02',
  ]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'error: spec.template.spec.domain.devices.interfaces[0].macAddress: MAC 02:00:00:00:00:02 is in use by default/vm-b (interface default)\n',
  );
  assert.deepEqual(patches.at(-1), {
    contentType: 'application/json-patch+json',
    url: '/apis/kubevirt.io/v1/namespaces/default/virtualmachines/vm-a',
    body: [
      {
        op: 'test',
        path: '/spec/template/spec/domain/devices/interfaces/0/name',
        value: 'default',
      },
      {
        op: 'test',
        path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
        value: '02:00:00:00:00:01',
      },
      {
        op: 'replace',
        path: '/spec/template/spec/domain/devices/interfaces/0/macAddress',
        value: '02:00:00:00:00:02',
      },
    ],
  });
});

test('set-mac on a stopped VM: the change is printed and applies at the next start', async () => {
  const r = await harrow([
    '--server',
    apiUrl,
    '--token',
    't',
    'set-mac',
    'vm-a',
    'default',
    '02-00-00-00-00-42',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'virtualmachine.kubevirt.io/vm-a interface default: macAddress 02:00:00:00:00:01 → 02:00:00:00:00:42\n' +
      'vm-a is not running: the new MAC applies when it starts (harrow start vm-a)\n',
  );
});
