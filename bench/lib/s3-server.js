// A local S3-compatible server (s3rver) for the remote benchmark, run as its own process so it
// does not share the benchmark's event loop: `node bench/lib/s3-server.js DIR BUCKET...` prints
// its endpoint on stdout, then serves until killed. Access key and secret: S3RVER / S3RVER.
import S3rver from 's3rver';

const [dir, ...buckets] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
const { address, port } = await server.run();
process.stdout.write(`http://${address}:${port}\n`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
