/** `d2 remote add|list|remove`: the remotes of d2.remotes.yaml */
import type { Command } from 'commander';
import { action, examples, type Runtime } from '../action.js';
import { renderRemoteAdded, renderRemoteList } from '../render/remote.js';

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
