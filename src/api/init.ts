/**
 * `d2 init`: make a folder a d2 project: a commented d2.yaml, the object store, .gitignore
 * entries, and a git repository when the folder is not already inside one. Idempotent: an
 * existing d2.yaml or repository is kept as it is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { configureSharing, findGitRoot, initGitRepo, type RemoteSharing } from '../git/index.js';
import { MANIFEST_FILE, MANIFEST_TEMPLATE } from '../manifest/index.js';
import { ObjectStore, STORE_DIR } from '../store/index.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { ensureGitignoreEntries } from '../workspace/index.js';
import { loadManifest } from '../project/project.js';
import { checkOptions, withCaller } from './verb.js';

export interface InitOptions {
  /** Folder to initialise (default: the working directory); created if missing. */
  dir?: string;
}

export interface InitResult {
  root: string;
  /** What this call created (false: it was already there). */
  created: { manifest: boolean; store: boolean; gitRepository: boolean; gitignoreEntries: string[] };
  gitRoot: string;
  /** git remotes given the refspecs that carry d2's notes and experiments (none in a new repository). */
  gitSharing: RemoteSharing[];
}

export async function init(options: InitOptions = {}): Promise<InitResult> {
  return withCaller('d2.init', async () => {
    checkOptions(options, { dir: true });
    const root = path.resolve(options.dir ?? '.');
    fs.mkdirSync(root, { recursive: true });
    const manifestFile = path.join(root, MANIFEST_FILE);
    let manifestCreated = false;
    if (fs.existsSync(manifestFile)) {
      loadManifest(fs.readFileSync(manifestFile, 'utf8'));
    } else {
      writeFileAtomicSync(manifestFile, MANIFEST_TEMPLATE);
      manifestCreated = true;
    }
    const store = new ObjectStore(root);
    const storeCreated = !store.exists();
    store.init();
    let gitRoot = await findGitRoot(root);
    let gitCreated = false;
    if (!gitRoot) {
      await initGitRepo(root);
      gitRoot = root;
      gitCreated = true;
    }
    const gitignoreEntries = ensureGitignoreEntries(root, [`/${STORE_DIR}/`]);
    // git remotes present now carry d2's notes and experiments on push and fetch (docs/journal.md).
    const gitSharing = (await configureSharing({ dir: gitRoot, cache: {} })).filter((g) => g.added.length);
    return {
      root: fs.realpathSync(root),
      created: { manifest: manifestCreated, store: storeCreated, gitRepository: gitCreated, gitignoreEntries },
      gitRoot: fs.realpathSync(gitRoot),
      gitSharing,
    };
  });
}
