/**
 * The file system isomorphic-git reads through when d2 walks history: Node's synchronous calls
 * behind promises. Each object read costs isomorphic-git a few stats, opens and a folder
 * listing; through the thread pool each is a round trip, and walking a thousand commits spent
 * more time waiting for those than reading. Used for reads only (writes keep Node's
 * asynchronous `fs`). Internal to the git adapter.
 *
 * Invariant: answers exactly as Node's `fs.promises` would, except that a missing file (and
 * isomorphic-git's probe, `readFile()` with no path) is rejected with one shared ENOENT error
 * (only its code is looked at), and the list of `objects/pack` is kept for a second.
 */
import fs from 'node:fs';

/**
 * isomorphic-git lists `objects/pack` before every object it reads from a pack; the list is
 * kept for a second (git makes packs only on fetch and gc, which isomorphic-git's own pack cache
 * does not follow during a command either).
 */
const packLists = new Map<string, { names: string[]; at: number }>();
function packNames(dir: string): string[] {
  const now = Date.now();
  const hit = packLists.get(dir);
  if (hit && now - hit.at < 1000) return hit.names;
  const names = fs.readdirSync(dir);
  packLists.set(dir, { names, at: now });
  return names;
}

const NOT_FOUND: NodeJS.ErrnoException = Object.assign(new Error('no such file'), { code: 'ENOENT' });
export const readFs = {
  promises: {
    // isomorphic-git asks for a loose object before looking in the packs, and probes the fs by
    // calling readFile() with no path on every call: answer both without building an Error
    // (and its stack) each time. Only the code is looked at.
    readFile: (p: string, o?: unknown): Promise<unknown> => {
      if (typeof p !== 'string' || !fs.existsSync(p)) return Promise.reject(NOT_FOUND);
      try {
        return Promise.resolve(fs.readFileSync(p, o as never));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    writeFile: async (p: string, d: string | Uint8Array, o?: unknown) => fs.writeFileSync(p, d, o as never),
    mkdir: async (p: string, o?: unknown) => fs.mkdirSync(p, o as never),
    rmdir: async (p: string, o?: unknown) => fs.rmdirSync(p, o as never),
    rm: async (p: string, o?: unknown) => fs.rmSync(p, o as never),
    unlink: async (p: string) => fs.unlinkSync(p),
    stat: async (p: string, o?: unknown) => fs.statSync(p, o as never),
    lstat: async (p: string, o?: unknown) => fs.lstatSync(p, o as never),
    readdir: async (p: string, o?: unknown) => (o === undefined && p.endsWith('/objects/pack') ? packNames(p) : fs.readdirSync(p, o as never)),
    readlink: async (p: string, o?: unknown) => fs.readlinkSync(p, o as never),
    symlink: async (t: string, p: string, ty?: unknown) => fs.symlinkSync(t, p, ty as never),
    chmod: async (p: string, m: number) => fs.chmodSync(p, m),
  },
};

