// `harrow token create|list|revoke`: users' API tokens, through the API (admins only); the secret is shown once, only its hash is stored.
import {
  apiTokenObject,
  mintToken,
  nodeOfTokenUser,
  nodeTokenObject,
  type ApiToken,
} from '../apiserver/tokens.ts';
import { ROLES, type Role } from '../apiserver/roles.ts';
import { expectPositionals } from './args.ts';
import type { Command } from './command.ts';
import { type CommandContext } from './context.ts';
import { UsageError } from './errors.ts';
import { printData, printTable } from './output.ts';
import { age } from './table.ts';

const USAGE = `Usage: harrow token create --user NAME --role admin|operator|viewer [--namespaces NS[,NS…]]
       harrow token create --node NODE
       harrow token list [-o table|json|yaml]
       harrow token revoke ID

Users' API tokens (admins only). create mints a token, stores only its SHA-256 as an ApiToken named by the token's
id, and prints the token once on stdout — keep it, it cannot be shown again. The user sends it as
\`Authorization: Bearer TOKEN\` (or harrow --token TOKEN). Roles:
  admin      everything
  operator   VMs, VMIs, clones and their actions (start/stop/restart, guest-exec) in the namespaces given, and reads of
             their NADs, pods, events, audit records and MAC allocations
  viewer     reads in the namespaces given (interfacelist included, guest-exec not)
  node       (--node NODE) what node NODE's agent needs: its own Node, the pods and VMIs scheduled to it and their
             status, the status of their VMs, its events and audit records, reads of NADs; user system:node:NODE.
             Run \`harrow agent --node-name NODE --token-file FILE\` with it; the control plane reaches that agent's
             API with a credential derived from this token, never with the admin token.
operator and viewer need --namespaces (a comma-separated list; -n is not used: it picks the namespace a
command works in, and a token is not in one). revoke deletes the record: the next request with the
token is refused (401) and its open watches end. The bootstrap admin token (<data-dir>/admin.token) is not listed.`;

async function createNodeToken(ctx: CommandContext, node: string): Promise<number> {
  const minted = mintToken();
  const object = nodeTokenObject(minted, node);
  if (nodeOfTokenUser(object.spec.user) === undefined)
    throw new UsageError(
      `token create: --node ${JSON.stringify(node)}: a node name is a DNS subdomain (lowercase letters, digits, '-', '.')`,
      'token',
    );
  await ctx.client().create<ApiToken>('ApiToken', {}, object);
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, {
      id: minted.id,
      user: object.spec.user,
      role: 'node',
      node,
      token: minted.token,
    });
    return 0;
  }
  ctx.io.stderr.write(
    `token ${minted.id} created: node ${node} (user ${object.spec.user}). It is shown only now:\n`,
  );
  ctx.io.stdout.write(`${minted.token}\n`);
  return 0;
}

async function create(
  ctx: CommandContext,
  user: string | undefined,
  role: string | undefined,
  namespacesFlag: string | undefined,
): Promise<number> {
  if (role === 'node')
    throw new UsageError('token create: a node token is made with --node NODE', 'token');
  if (ctx.globals.namespace !== undefined)
    throw new UsageError(
      'token create: a token is not in a namespace; give the namespaces it may use with --namespaces NS[,NS…]',
      'token',
    );
  if (user === undefined || user.trim() === '')
    throw new UsageError('token create: --user NAME is required', 'token');
  if (!ROLES.includes(role as Role))
    throw new UsageError(`token create: --role must be one of ${ROLES.join(', ')}`, 'token');
  const namespaces = (namespacesFlag ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (role === 'admin' && namespaces.length > 0)
    throw new UsageError(
      'token create: an admin token is not limited to namespaces; drop --namespaces',
      'token',
    );
  if (role !== 'admin' && namespaces.length === 0)
    throw new UsageError(`token create: a ${role} token needs --namespaces NS[,NS…]`, 'token');
  const minted = mintToken();
  const created = await ctx
    .client()
    .create<ApiToken>('ApiToken', {}, apiTokenObject(minted, user, role as Role, namespaces));
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, {
      id: minted.id,
      user,
      role,
      namespaces: created.spec.namespaces,
      token: minted.token,
    });
    return 0;
  }
  const scope = role === 'admin' ? 'everywhere' : `in ${namespaces.join(', ')}`;
  ctx.io.stderr.write(
    `token ${minted.id} created: user ${user}, ${role} ${scope}. It is shown only now:\n`,
  );
  ctx.io.stdout.write(`${minted.token}\n`);
  return 0;
}

async function list(ctx: CommandContext): Promise<number> {
  const tokens = await ctx.client().listAll<ApiToken>('ApiToken');
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, {
      apiVersion: 'v1',
      kind: 'List',
      metadata: {},
      items: tokens,
    });
    return 0;
  }
  const now = ctx.now();
  printTable(
    ctx.io,
    {
      headers: ['ID', 'USER', 'ROLE', 'NAMESPACES', 'AGE'],
      rows: tokens.map((t) => [
        t.metadata.name,
        t.spec.user,
        t.spec.role,
        t.spec.role === 'node' ? '-' : t.spec.namespaces.join(',') || '*',
        age(t.metadata.creationTimestamp, now),
      ]),
    },
    'No tokens (the bootstrap admin token is not listed).',
  );
  return 0;
}

export const tokenCommand: Command = {
  name: 'token',
  aliases: ['tokens'],
  summary:
    'Create, list and revoke API tokens with a role (admin, operator, viewer; node for agents)',
  usage: USAGE,
  options: {
    user: { type: 'string' },
    role: { type: 'string' },
    namespaces: { type: 'string' },
    node: { type: 'string' },
  },
  async run(ctx, args) {
    const [sub, ...rest] = args.positionals;
    const node = args.values.node as string | undefined;
    if (sub === 'create') {
      expectPositionals(rest, [], 'token');
      if (node !== undefined) {
        if (
          args.values.user !== undefined ||
          args.values.role !== undefined ||
          args.values.namespaces !== undefined
        )
          throw new UsageError(
            'token create: --node makes a node token (user system:node:NODE): drop --user, --role and --namespaces',
            'token',
          );
        return createNodeToken(ctx, node);
      }
      return create(
        ctx,
        args.values.user as string | undefined,
        args.values.role as string | undefined,
        args.values.namespaces as string | undefined,
      );
    }
    if (
      args.values.user !== undefined ||
      args.values.role !== undefined ||
      args.values.namespaces !== undefined ||
      node !== undefined
    )
      throw new UsageError(
        'token: --user, --role, --namespaces and --node apply to token create',
        'token',
      );
    if (sub === 'list') {
      expectPositionals(rest, [], 'token');
      return list(ctx);
    }
    if (sub === 'revoke') {
      const [id] = expectPositionals(rest, ['ID'], 'token');
      await ctx.client().delete('ApiToken', { name: id! });
      ctx.io.stdout.write(`token ${id} revoked\n`);
      return 0;
    }
    throw new UsageError(
      sub === undefined
        ? 'token: missing subcommand (create, list or revoke)'
        : `token: unknown subcommand ${JSON.stringify(sub)} (create, list or revoke)`,
      'token',
    );
  },
};
