/**
 * d2's own files in git: what `d2 commit` records and `d2 status` compares with the last
 * commit — d2.yaml, d2.lock, d2.remotes.yaml, .gitignore, d2.sources/ (snapshots and labels),
 * the label CSVs sources import and the model-tests file. One list, so that status says
 * "nothing to commit" exactly when commit would find nothing to commit.
 *
 * Invariant: every path is relative to the project root and is a file d2 reads or writes; the
 * user's other files are never in the list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCK_FILE, MANIFEST_FILE, REMOTES_FILE, SOURCES_DIR, type Manifest, REVIEW_DIR } from '../manifest/index.js';

/** The paths `d2 commit` records (relative to the project root; `d2.sources` is a folder). */
export function committedPaths(root: string, manifest: Manifest): string[] {
  const paths = [MANIFEST_FILE, '.gitignore', SOURCES_DIR, LOCK_FILE, REMOTES_FILE];
  // review decisions (d2 label --keep): committed text like the labels
  if (fs.existsSync(path.join(root, REVIEW_DIR))) paths.push(REVIEW_DIR);
  for (const decl of Object.values(manifest.sources)) {
    if (decl.labels && decl.labels !== 'dirname' && fs.existsSync(path.join(root, decl.labels))) paths.push(decl.labels);
  }
  // The model tests file is a labels file too: a commit without it could not be resolved.
  const tests = manifest.dataset.modelTests;
  if (tests && fs.existsSync(path.join(root, tests))) paths.push(tests);
  return [...new Set(paths)];
}
