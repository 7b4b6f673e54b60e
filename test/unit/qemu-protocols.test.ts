// QMP and guest-agent clients against in-process unix-socket peers that behave like QEMU and qemu-ga.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GuestAgentClient,
  parseAgentInterfaces,
  parseExecStatus,
} from '../../src/runtime/qemu/qga.ts';
import { QmpClient, QmpError, parseRxFilters, queryRxFilter } from '../../src/runtime/qemu/qmp.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'harrow-proto-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Handler = (socket: Socket, message: Record<string, unknown>) => void;

/** A line-JSON peer; `onConnect` may greet; 0xFF bytes reset the line buffer as qemu-ga's parser does. */
async function peer(
  name: string,
  onConnect: (socket: Socket) => void,
  handle: Handler,
): Promise<{ path: string; server: Server }> {
  const path = join(dir, name);
  const server = createServer((socket) => {
    let buffer = '';
    onConnect(socket);
    socket.on('data', (chunk: Buffer) => {
      const ff = chunk.lastIndexOf(0xff);
      if (ff >= 0) {
        buffer = '';
        chunk = chunk.subarray(ff + 1);
      }
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) handle(socket, JSON.parse(line) as Record<string, unknown>);
        newline = buffer.indexOf('\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server };
}

const send = (socket: Socket, value: unknown): void => {
  socket.write(`${JSON.stringify(value)}\r\n`);
};

describe('QMP client', () => {
  it('negotiates capabilities, matches replies by id, delivers events, and turns errors into QmpError', async () => {
    let negotiated = false;
    let mac = '02:aa:00:00:00:01';
    const { path, server } = await peer(
      'qmp.sock',
      (socket) =>
        send(socket, {
          QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] },
        }),
      (socket, message) => {
        const id = message.id;
        switch (message.execute) {
          case 'qmp_capabilities':
            negotiated = true;
            send(socket, { return: {}, id });
            break;
          case 'query-rx-filter':
            // An event may arrive between a command and its reply.
            send(socket, {
              event: 'NIC_RX_FILTER_CHANGED',
              data: { name: 'nic0', path: '/machine/peripheral/nic0/virtio-backend' },
              timestamp: { seconds: 1, microseconds: 2 },
            });
            send(socket, {
              return: [{ name: 'nic0', 'main-mac': mac.toUpperCase(), promiscuous: true }],
              id,
            });
            break;
          default:
            send(socket, {
              error: {
                class: 'CommandNotFound',
                desc: `The command ${String(message.execute)} has not been found`,
              },
              id,
            });
        }
      },
    );
    const client = await QmpClient.connect(path, 2_000);
    try {
      assert.ok(negotiated);
      const events: string[] = [];
      client.onEvent((event) => events.push(`${event.event}:${String(event.data.name)}`));
      assert.deepEqual(await queryRxFilter(client), [
        { name: 'nic0', mainMac: '02:aa:00:00:00:01' },
      ]);
      mac = '02:aa:00:00:00:09';
      assert.deepEqual(await queryRxFilter(client), [
        { name: 'nic0', mainMac: '02:aa:00:00:00:09' },
      ]);
      assert.deepEqual(events, ['NIC_RX_FILTER_CHANGED:nic0', 'NIC_RX_FILTER_CHANGED:nic0']);
      await assert.rejects(
        client.execute('nope'),
        (error: unknown) => error instanceof QmpError && error.errorClass === 'CommandNotFound',
      );
    } finally {
      client.close();
      await client.closed;
      server.close();
    }
  });

  it('rejects pending commands when QEMU goes away', async () => {
    const { path, server } = await peer(
      'qmp-dies.sock',
      (socket) => send(socket, { QMP: { version: {}, capabilities: [] } }),
      (socket, message) => {
        if (message.execute === 'qmp_capabilities') send(socket, { return: {}, id: message.id });
        else socket.destroy();
      },
    );
    const client = await QmpClient.connect(path, 2_000);
    await assert.rejects(client.execute('query-status'), /connection closed/);
    await client.closed;
    assert.equal(client.isOpen, false);
    server.close();
  });

  it('parses query-rx-filter and refuses a reply without main-mac', () => {
    assert.deepEqual(parseRxFilters([{ name: 'nic1', 'main-mac': 'AA:BB:CC:DD:EE:0F' }]), [
      { name: 'nic1', mainMac: 'aa:bb:cc:dd:ee:0f' },
    ]);
    assert.throws(() => parseRxFilters([{ name: 'nic1' }]), /main-mac/);
    assert.throws(() => parseRxFilters({}), /array/);
  });
});

describe('guest agent client', () => {
  it('resynchronises past stale answers and a silent first sync (agent not up yet), then runs guest-exec to completion', async () => {
    let syncs = 0;
    let polls = 0;
    const { path, server } = await peer(
      'qga.sock',
      // Answers left over from before (e.g. requests written while the guest was booting).
      (socket) => send(socket, { return: {} }),
      (socket, message) => {
        const args = (message.arguments ?? {}) as Record<string, unknown>;
        switch (message.execute) {
          case 'guest-sync-delimited':
            syncs++;
            if (syncs === 1) return; // the agent is not running yet: no answer
            socket.write(Buffer.from([0xff]));
            send(socket, { return: 12345 }); // a stale sync answer with another id
            socket.write(Buffer.from([0xff]));
            send(socket, { return: args.id });
            break;
          case 'guest-ping':
            send(socket, { return: {} });
            break;
          case 'guest-exec':
            assert.deepEqual(args, {
              path: 'sh',
              arg: ['-c', 'echo hi; echo oops >&2; exit 3'],
              'capture-output': true,
            });
            send(socket, { return: { pid: 77 } });
            break;
          case 'guest-exec-status':
            polls++;
            send(socket, {
              return:
                polls < 3
                  ? { exited: false }
                  : {
                      exited: true,
                      exitcode: 3,
                      'out-data': Buffer.from('hi\n').toString('base64'),
                      'err-data': Buffer.from('oops\n').toString('base64'),
                    },
            });
            break;
          default:
            send(socket, { error: { class: 'CommandNotFound', desc: 'no' } });
        }
      },
    );
    const agent = await GuestAgentClient.connect(path, 2_000);
    try {
      await assert.rejects(agent.ping(300), /no answer within 300 ms/);
      await agent.ping(2_000);
      assert.equal(syncs, 2);
      assert.deepEqual(await agent.exec(['sh', '-c', 'echo hi; echo oops >&2; exit 3'], 5_000), {
        exitCode: 3,
        stdout: 'hi\n',
        stderr: 'oops\n',
      });
      assert.equal(polls, 3);
      await assert.rejects(agent.execute('guest-nope'), /CommandNotFound/);
    } finally {
      agent.close();
      server.close();
    }
  });

  it('gives up on a command that outlives its timeout', async () => {
    const { path, server } = await peer(
      'qga-slow.sock',
      () => {},
      (socket, message) => {
        const args = (message.arguments ?? {}) as Record<string, unknown>;
        if (message.execute === 'guest-sync-delimited') {
          socket.write(Buffer.from([0xff]));
          send(socket, { return: args.id });
        } else if (message.execute === 'guest-exec') send(socket, { return: { pid: 1 } });
        else if (message.execute === 'guest-exec-status')
          send(socket, { return: { exited: false } });
      },
    );
    const agent = await GuestAgentClient.connect(path, 2_000);
    try {
      await assert.rejects(agent.exec(['sleep', '100'], 300), /still running after 300 ms/);
    } finally {
      agent.close();
      server.close();
    }
  });

  it('parses interfaces (lo and MAC-less links left out) and exec status (signals as 128+n)', () => {
    const interfaces = [
      {
        name: 'lo',
        'hardware-address': '00:00:00:00:00:00',
        'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 }],
      },
      {
        name: 'eth0',
        'hardware-address': '02:AA:00:00:00:01',
        'ip-addresses': [
          { 'ip-address': '198.18.1.63', 'ip-address-type': 'ipv4', prefix: 24 },
          { 'ip-address': 'fe80::aa:ff:fe00:1', 'ip-address-type': 'ipv6', prefix: 64 },
        ],
      },
      { name: 'sit0' },
    ];
    assert.deepEqual(parseAgentInterfaces(interfaces), [
      {
        interfaceName: 'eth0',
        mac: '02:aa:00:00:00:01',
        ipAddresses: ['198.18.1.63', 'fe80::aa:ff:fe00:1'],
      },
    ]);
    assert.equal(parseExecStatus({ exited: false }), undefined);
    assert.deepEqual(parseExecStatus({ exited: true, signal: 9 }), {
      exitCode: 137,
      stdout: '',
      stderr: '',
      signal: 9,
    });
  });
});
