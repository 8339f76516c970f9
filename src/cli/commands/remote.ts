/** `d2 remote add|list|remove`, `d2 push`, `d2 pull`, `d2 gc` */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderGc, renderPull, renderPush, renderRemoteAdded, renderRemoteList } from '../render/remote.js';

interface AddFlags { endpoint?: string; region?: string; pathStyle?: boolean; default?: boolean; force?: boolean }

export function registerRemote(program: Command, rt: Runtime): void {
  const remote = program
    .command('remote')
    .description('list, add or remove the remotes where push and pull share objects (kept in d2.remotes.yaml)')
    .addHelpText('after', `${examples('$ d2 remote add origin s3://team-data/fashion', '$ d2 remote add minio s3://datasets/fashion --endpoint http://10.0.0.5:9000', '$ d2 remote add share /mnt/team/d2-store', '$ d2 remote list')}
S3 credentials, region and endpoint come from the standard AWS environment variables and files
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3):
nothing secret is written to the repository.
`);
  remote
    .command('list', { isDefault: true })
    .description('list the remotes (* marks the default)')
    .action(action(rt, async (ctx) => {
      const result = await ctx.api.remoteList(ctx.common());
      await ctx.emit('remote', result, (r) => renderRemoteList(r, ctx.style));
    }));
  remote
    .command('add')
    .description('add a remote: s3://bucket[/prefix], or a folder (absolute, or relative to the project)')
    .argument('<name>', "remote name, e.g. 'origin'")
    .argument('<url>', 's3://bucket/prefix, /mnt/share/store or file:///…')
    .option('--endpoint <url>', 'S3-compatible service endpoint (MinIO, Ceph, R2…), e.g. http://10.0.0.5:9000')
    .option('--region <region>', 'S3 region (default: AWS_REGION, the AWS config file, us-east-1)')
    .option('--path-style', 'path-style S3 addressing (the default when --endpoint is given)')
    .option('--default', 'make it the default remote (the first one added is)')
    .option('--force', 'replace a remote of the same name')
    .addHelpText('after', examples('$ d2 remote add origin s3://team-data/fashion && d2 commit -m "Share data on S3"'))
    .action(action<AddFlags>(rt, async (ctx, args, o) => {
      const [name, url] = args as [string, string];
      const result = await ctx.api.remoteAdd({
        ...ctx.common(), name, url, lockTimeoutMs: ctx.flags.lockTimeoutMs,
        ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
        ...(o.region !== undefined ? { region: o.region } : {}),
        ...(o.pathStyle ? { pathStyle: true } : {}),
        setDefault: o.default === true, force: o.force === true,
      });
      await ctx.emit('remote', result, (r) => renderRemoteAdded(r, ctx.style));
    }));
  remote
    .command('remove')
    .description('remove a remote from d2.remotes.yaml (its objects stay where they are)')
    .argument('<name>', 'remote name')
    .action(action(rt, async (ctx, args) => {
      const result = await ctx.api.remoteRemove({ ...ctx.common(), name: (args as [string])[0], lockTimeoutMs: ctx.flags.lockTimeoutMs });
      await ctx.emit('remote', result, (r) => renderRemoteList(r, ctx.style));
    }));
}

export function registerPush(program: Command, rt: Runtime): void {
  program
    .command('push')
    .description('upload the objects the committed revisions need (raw data and built models) that the remote lacks')
    .argument('[revs...]', 'revisions to push (default: every commit of every branch and tag)')
    .option('--remote <name>', 'remote to push to (default: the default remote)')
    .option('--with-cache', 'also upload the packed preprocessing of the built models')
    .option('--force', "upload every object even if the remote has it (replaces copies 'd2 pull' found corrupt)")
    .addHelpText('after', `${examples('$ d2 push', '$ d2 push HEAD --remote share', '$ d2 push --force', '$ d2 push --json | jq .data.uploaded')}
Objects already on the remote are not sent again, so an interrupted push resumes where it stopped.
`)
    .action(action<{ remote?: string; withCache?: boolean; force?: boolean }>(rt, async (ctx, revs, o) => {
      const result = await ctx.api.push({ ...ctx.common(), revs: revs as string[], ...(o.remote ? { remote: o.remote } : {}), withCache: o.withCache === true, force: o.force === true });
      await ctx.emit('push', result, (r) => renderPush(r, ctx.style));
    }));
}

export function registerPull(program: Command, rt: Runtime): void {
  program
    .command('pull')
    .description("download what a revision needs (default: HEAD and the working tree) and write the sources' missing working files")
    .argument('[rev]', 'revision to fetch the objects of')
    .option('--remote <name>', 'remote to pull from (default: the default remote)')
    .option('--all', 'every revision of every branch and tag')
    .option('--with-models', 'also the model, evaluation and build record d2.lock names (d2 build then reuses them)')
    .option('--with-cache', "also the built models' packed preprocessing")
    .option('--no-checkout', "only fill the store; do not write the sources' working files")
    .addHelpText('after', `${examples('$ git clone git@example.com:team/fashion.git && cd fashion && d2 pull && d2 build', '$ d2 pull --with-models', '$ d2 pull HEAD~3 --no-checkout')}
Every object is checked against its hash before it enters the store; an interrupted pull keeps
what arrived, and running it again fetches the rest. Existing working files are never overwritten.
`)
    .action(action<{ remote?: string; all?: boolean; withModels?: boolean; withCache?: boolean; checkout: boolean }>(rt, async (ctx, args, o) => {
      const rev = (args as (string | undefined)[])[0];
      const result = await ctx.api.pull({
        ...ctx.common(), lockTimeoutMs: ctx.flags.lockTimeoutMs,
        ...(rev !== undefined ? { rev } : {}), ...(o.remote ? { remote: o.remote } : {}),
        all: o.all === true, withModels: o.withModels === true, withCache: o.withCache === true, noCheckout: o.checkout === false,
      });
      await ctx.emit('pull', result, (r) => renderPull(r, ctx.style));
    }));
}

export function registerGc(program: Command, rt: Runtime): void {
  program
    .command('gc')
    .description('find local objects no revision and no working state references (dry run); --prune deletes them')
    .option('--prune', 'delete them')
    .addHelpText('after', `${examples('$ d2 gc', '$ d2 gc --prune')}
Kept: the raw data of every commit of every branch and tag and of the working tree, and the
models their d2.lock files name with those builds' caches. Builds never committed and packs of
old preprocessing are caches: they are deleted, and a later build computes them again.
`)
    .action(action<{ prune?: boolean }>(rt, async (ctx, _args, o) => {
      const result = await ctx.api.gc({ ...ctx.common(), prune: o.prune === true, lockTimeoutMs: ctx.flags.lockTimeoutMs });
      await ctx.emit('gc', result, (r) => renderGc(r, ctx.style));
    }));
}
