// Benchmark of issue "remotes": `d2 push` then `d2 pull` of the 70,000 Fashion-MNIST objects
// to a local S3-compatible server (s3rver on loopback, in its own process), the time of a second
// push that has nothing to send, and a shared-folder remote. Peers in the same run: the AWS CLI's
// `aws s3 sync` (at 16 concurrent requests, up from its default 10) against the same server,
// and `rsync -a` into a folder followed by `sync -f` (a durable copy, as d2's is).
//
//   node bench/remote.js [--quick] [--only s3|folder]
//
// Prints seconds and objects/s for each step and d2's ratio to the peer.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { pngTree } from './lib/fashion-mnist.js';
import { D2, REPO, WORK, freshDir, have, shell, table, timed } from './lib/measure.js';

const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const doS3 = only !== 'folder';
const doFolder = only !== 's3';
// The PNG tree, written once and reused: <WORK>/fmnist-png/fmnist/<class>/<split>-<index>.png
const tree = await pngTree(WORK);

const base = freshDir('remote');
const s3dir = path.join(base, 's3rver');
fs.mkdirSync(s3dir);
const server = execa(process.execPath, ['--openssl-legacy-provider', path.join(REPO, 'bench', 'lib', 's3-server.js'), s3dir, 'd2-bench', 'peer-bench'], { stdout: 'pipe', stderr: 'inherit' });
const endpoint = await new Promise((resolve, reject) => {
  server.stdout.once('data', (b) => resolve(String(b).trim()));
  server.catch(reject);
});
const env = { ...process.env, CI: '1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid' };
const rows = [];
const rate = (n, s) => Math.round(n / s).toLocaleString('en-US');
try {
  // The project: the whole tree (or a class-balanced tenth with --quick), added and committed.
  const dir = path.join(base, 'origin');
  fs.mkdirSync(dir);
  if (quick) {
    for (const cls of fs.readdirSync(path.join(tree, 'fmnist'))) {
      fs.mkdirSync(path.join(dir, 'fmnist', cls), { recursive: true });
      for (const f of fs.readdirSync(path.join(tree, 'fmnist', cls)).sort().slice(0, 700)) fs.copyFileSync(path.join(tree, 'fmnist', cls, f), path.join(dir, 'fmnist', cls, f));
    }
  } else {
    await shell(`cp -r ${tree}/fmnist ${dir}/fmnist && sync`);
  }
  const d2 = (args, cwd = dir) => timed(process.execPath, [D2, ...args], { cwd, env });
  await d2(['init']);
  await d2(['add', 'fmnist', '--labels', 'dirname']);
  await d2(['remote', 'add', 'origin', 's3://d2-bench/fashion', '--endpoint', endpoint]);
  await d2(['remote', 'add', 'share', path.join(base, 'share')]);
  fs.mkdirSync(path.join(base, 'share'));
  await d2(['commit', '-m', 'data']);
  const files = Number(/items: (\d+)/.exec(fs.readFileSync(path.join(dir, 'd2.sources', 'fmnist.yaml'), 'utf8'))[1]);
  console.error(`${files.toLocaleString('en-US')} files; S3 server at ${endpoint}`);

  const last = (r) => JSON.parse(r.stdout.trim().split('\n').at(-1)).data;
  let push, pushed, again, pull, pulled, folderPush, folderPushed, folderAgain;
  if (doS3) {
    push = await d2(['push', '--json']);
    pushed = last(push);
    again = await d2(['push', '--json']);
    const clone = path.join(base, 'clone');
    await execa('git', ['clone', '-q', dir, clone]);
    pull = await d2(['pull', '--json'], clone);
    pulled = last(pull);
  }
  if (doFolder) {
    await shell('sync');
    folderPush = await d2(['push', '--remote', 'share', '--json']);
    folderPushed = last(folderPush);
    folderAgain = await d2(['push', '--remote', 'share']);
  }

  // Peers: aws s3 sync up, again (nothing to send), down; rsync into a folder.
  let peer = {};
  if (doS3 && (await have('aws'))) {
    const cfg = path.join(base, 'aws-config');
    fs.writeFileSync(cfg, '[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 16\n');
    const aenv = { ...env, AWS_CONFIG_FILE: cfg };
    const aws = (args) => timed('aws', ['--endpoint-url', endpoint, 's3', ...args, '--only-show-errors'], { env: aenv });
    peer.up = await aws(['sync', path.join(dir, 'fmnist'), 's3://peer-bench/fashion']);
    peer.again = await aws(['sync', path.join(dir, 'fmnist'), 's3://peer-bench/fashion']);
    peer.down = await aws(['sync', 's3://peer-bench/fashion', path.join(base, 'peer-down')]);
  }
  if (doFolder && (await have('rsync'))) {
    await shell('sync');
    peer.rsync = await shell(`rsync -a ${dir}/fmnist/ ${base}/rsync-share/ && sync -f ${base}/rsync-share`);
    peer.rsyncAgain = await shell(`rsync -a ${dir}/fmnist/ ${base}/rsync-share/`);
  }
  const ratio = (a, b) => (b ? `${(b.seconds / a.seconds).toFixed(2)}×` : 'n/a');
  if (doS3) {
    rows.push(['S3 push', push.seconds.toFixed(2), rate(pushed.uploaded, push.seconds), peer.up?.seconds.toFixed(2) ?? 'n/a', ratio(push, peer.up)]);
    rows.push(['S3 push again (nothing to send)', again.seconds.toFixed(2), '', peer.again?.seconds.toFixed(2) ?? 'n/a', ratio(again, peer.again)]);
    rows.push(['S3 pull into a fresh clone (+ working files)', pull.seconds.toFixed(2), rate(pulled.fetched, pull.seconds), peer.down?.seconds.toFixed(2) ?? 'n/a', ratio(pull, peer.down)]);
  }
  if (doFolder) {
    rows.push(['folder push (durable)', folderPush.seconds.toFixed(2), rate(folderPushed.uploaded, folderPush.seconds), peer.rsync?.seconds.toFixed(2) ?? 'n/a', ratio(folderPush, peer.rsync)]);
    rows.push(['folder push again', folderAgain.seconds.toFixed(2), '', peer.rsyncAgain?.seconds.toFixed(2) ?? 'n/a', ratio(folderAgain, peer.rsyncAgain)]);
  }
  const sent = pushed ?? folderPushed;
  console.log(`\nremote transfer: ${sent.uploaded.toLocaleString('en-US')} objects (${(sent.bytes / 1e6).toFixed(1)} MB), s3rver on loopback, 2 cores`);
  console.log(table(['step', 'd2 s', 'd2 objects/s', 'peer s', 'd2 speed-up'], rows));
  console.log('peers: aws s3 sync (AWS CLI, 16 concurrent requests) for S3; rsync -a then sync -f for the folder. Speed-up > 1: d2 faster.');
  if (pulled) console.log(`pull restored ${pulled.restored.toLocaleString('en-US')} working files; both sides hold the same ${files.toLocaleString('en-US')} files`);
} finally {
  server.kill('SIGTERM');
  await server.catch(() => {});
}
