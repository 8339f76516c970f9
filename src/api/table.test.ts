/**
 * Table sources end to end through the api: rows as items, labels from a column, relabels seen
 * by status, encoded features in packs, and bad rows named by file and line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/index.js';
import { splitOf } from '../core/dataset.js';
import { itemBytes } from '../core/pack.js';
import { rowOid } from '../project/table-source.js';
import { add } from './add.js';
import { commit } from './commit.js';
import { data } from './data.js';
import { prepareData } from '../project/prepared.js';
import { init } from './init.js';
import { readPackTrailer } from '../project/packing.js';
import { openProject } from '../project/project.js';
import { status } from './status.js';

const ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid' };

function csv(rows: string[][]): string {
  return `${rows.map((r) => r.join(',')).join('\n')}\n`;
}

const HEADER = ['id', 'size', 'city', 'band'];
const ROWS = Array.from({ length: 60 }, (_, i) => [`h${i}`, String(20 + i), ['paris', 'lyon', ''][i % 3]!, i % 2 ? 'high' : 'low']);

async function tableProject(rows = ROWS): Promise<string> {
  const dir = path.join(tempDir(), 'p');
  await init({ dir });
  fs.writeFileSync(path.join(dir, 'houses.csv'), csv([HEADER, ...rows]));
  await add({ dir, paths: ['houses.csv'], labelColumn: 'band', idColumn: 'id' });
  return dir;
}

describe('table sources', () => {
  it('records rows as items labelled by a column, and sees a relabel in the CSV', async () => {
    const dir = await tableProject();
    const labels = fs.readFileSync(path.join(dir, 'd2.sources', 'houses.labels.csv'), 'utf8');
    expect(labels.split('\n').slice(0, 3)).toEqual(['path,label', 'h0,low', 'h1,high']);
    await commit({ dir, message: 'houses', env: ENV });
    const text = fs.readFileSync(path.join(dir, 'houses.csv'), 'utf8');
    fs.writeFileSync(path.join(dir, 'houses.csv'), text.replace('h4,24,lyon,low', 'h4,24,lyon,high'));
    const st = await status({ dir });
    expect(st.sources[0]!.notAddedRelabels).toEqual([{ path: 'h4', from: 'low', to: 'high' }]);
    expect(st.sources[0]!.notAdded.modified).toEqual([]);
    const again = await add({ dir, paths: ['houses.csv'] });
    expect(again.sources[0]!.changes).toMatchObject({ relabelled: 1, added: 0, modified: 0 });
    // a changed value is a changed item
    fs.writeFileSync(path.join(dir, 'houses.csv'), fs.readFileSync(path.join(dir, 'houses.csv'), 'utf8').replace('h7,27,', 'h7,99,'));
    expect((await status({ dir })).sources[0]!.notAdded.modified).toEqual(['h7']);
  });

  it('encodes rows with statistics of the train split into float32 packs', async () => {
    const dir = await tableProject();
    const r = await data({ dir });
    expect(r.preprocess).toMatchObject({ modality: 'table', features: ['size', 'city=(missing)', 'city=lyon', 'city=paris'], shape: [4] });
    const prepared = await prepareData(openProject(dir), {});
    const p = openProject(dir);
    const train = prepared.packing!.record.sets.train;
    const trailer = readPackTrailer(p.store, train.pack!);
    expect(trailer).toMatchObject({ dtype: 'float32', shape: [4], count: train.count });
    // standardised with the train rows' own mean and std: the train column has mean 0
    const raw = p.store.read(train.pack!);
    const feats = new Float32Array(raw.buffer.slice(raw.byteOffset + 8, raw.byteOffset + 8 + train.count * itemBytes(trailer)));
    let sum = 0;
    for (let i = 0; i < train.count; i++) sum += feats[i * 4]!;
    expect(Math.abs(sum / train.count)).toBeLessThan(1e-5);
    expect(prepared.packing!.record.table!.columns[0]).toMatchObject({ column: 'size', kind: 'numeric' });
  });

  it('names the file and line of a row with the wrong column count', async () => {
    const dir = path.join(tempDir(), 'p');
    await init({ dir });
    fs.writeFileSync(path.join(dir, 't.csv'), 'a,b,label\n1,2,x\n3,y\n5,6,z\n');
    const err = await add({ dir, paths: ['t.csv'], labelColumn: 'label' }).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'ItemInvalid', message: 't.csv:3:1: expected 3 columns as in the header, got 2' });
    expect(fs.existsSync(path.join(dir, 'd2.sources'))).toBe(false);
  });

  it('fails on a value it cannot encode, or skips and lists it when told to', async () => {
    const dir = await tableProject();
    // put a non-number in the size of a row outside train (train rows define the encoding)
    // (the edit changes the row's content hash, so pick a row whose edited form is outside train)
    const split = openProject(dir).manifest.dataset.split;
    const victimRow = ROWS.find(([id, , city]) => splitOf(rowOid({ id: id!, size: 'big', city: city!, band: '' }, 'band'), split) !== 'train')!;
    const victim = victimRow[0]!;
    const n = Number(victim.slice(1));
    fs.writeFileSync(path.join(dir, 'houses.csv'), fs.readFileSync(path.join(dir, 'houses.csv'), 'utf8').replace(`${victim},${20 + n},`, `${victim},big,`));
    await add({ dir, paths: ['houses.csv'] });
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\npreprocess:\n  table:\n    categorical: [city]'));
    const err = await data({ dir }).then(() => undefined, (e: unknown) => e as { code: string; message: string; hint: string });
    expect(err).toMatchObject({ code: 'ItemInvalid', message: `source 'houses': row '${victim}': 'big' in column 'size' is not a number` });
    expect(err!.hint).toMatch(/onBadItem: skip/);
    fs.writeFileSync(path.join(dir, 'd2.yaml'), fs.readFileSync(path.join(dir, 'd2.yaml'), 'utf8').replace('version: 1', 'version: 1\ndataset:\n  onBadItem: skip'));
    const r = await data({ dir });
    expect(r.preprocess!.skipped.map((s) => s.path)).toEqual([victim]);
  });
});
