/**
 * The commented `d2.yaml` written by `d2 init`: valid as written, and a short tour of the keys
 * a data manager edits. Kept in step with `docs/manifest.md`.
 */
export const MANIFEST_TEMPLATE = `# d2.yaml: the manifest of this dataset (format version 1).
# It declares where the raw data comes from; d2 resolves it into a dataset, builds a model
# from it, and records the result in d2.lock. Every key: docs/manifest.md in d2's repository.
version: 1

# Sources: named folders of raw files. \`d2 add PATH --labels dirname\` adds one here, e.g.
#   sources:
#     fashion:
#       path: data/fashion      # relative to this file; the files themselves stay out of git
#       labels: dirname         # label = parent folder name, or a CSV file with path,label
sources: {}
`;
