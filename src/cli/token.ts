// `harrow token create|list|revoke`: users' API tokens, through the API (admins only); the secret is shown once, only its hash is stored.
import {
  apiTokenObject,
  mintToken,
  nodeOfTokenUser,
  nodeTokenObject,
  type ApiToken,
} from '../apiserver/tokens.ts';
import { ROLES, type Role } from '../apiserver/roles.ts';
import { type CommandContext } from './context.ts';
import { UsageError } from './errors.ts';
import { printData, printTable } from './output.ts';
import { age } from './table.ts';
import type { ParsedCommandLine } from './args.ts';

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

export async function runToken(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [sub, ...rest] = args.positionals;
  const node = args.values.node as string | undefined;
  if (sub === 'create') {
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
  if (sub === 'list') return list(ctx);
  const [id] = rest;
  await ctx.client().delete('ApiToken', { name: id! });
  ctx.io.stdout.write(`token ${id} revoked\n`);
  return 0;
}
