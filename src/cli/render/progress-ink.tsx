/**
 * The interactive progress view (Ink, on stderr): finished phases stay above as static lines,
 * the current phase is a live bar with a count and a rate. Ink lives here and in no other
 * module outside cli/render.
 */
import React, { useEffect, useState } from 'react';
import { Box, render, Static, Text, type Instance } from 'ink';
import type { ProgressEvent } from '../../index.js';
import type { CliIO } from '../io.js';
import { countText, describePhase, type ProgressRenderer } from './progress.js';

interface Done { key: string; text: string }

type Listener = (e: ProgressEvent) => void;

function Bar({ loaded, total, width }: { loaded: number; total: number; width: number }): React.ReactElement {
  const filled = total > 0 ? Math.min(width, Math.round((loaded / total) * width)) : 0;
  return <Text><Text color="cyan">{'█'.repeat(filled)}</Text><Text dimColor>{'░'.repeat(width - filled)}</Text></Text>;
}

/** The live line, fitted to `columns`: a shorter bar first, then the text cut (never wrapped). */
export function liveLine(e: ProgressEvent, seconds: number, columns: number): { label: string; bar: number; count: string; rate: string } {
  const label = `${describePhase(e)} `;
  const count = ` ${countText(e)}`;
  const rate = e.loaded > 0 && e.phase !== 'train' ? ` ${Math.round(e.loaded / seconds)}/s` : '';
  const room = columns - 1 - label.length - count.length - rate.length;
  const bar = e.total === undefined ? 0 : Math.max(0, Math.min(24, room));
  return { label, bar: bar >= 8 ? bar : 0, count, rate };
}

function ProgressView({ subscribe, columns }: { subscribe: (l: Listener) => void; columns: number }): React.ReactElement {
  const [done, setDone] = useState<Done[]>([]);
  const [current, setCurrent] = useState<{ e: ProgressEvent; key: string; started: number } | undefined>();
  useEffect(() => {
    let cur: { e: ProgressEvent; key: string; started: number } | undefined;
    let lastDraw = 0;
    subscribe((e) => {
      const key = `${e.phase}|${String(e.detail?.source ?? '')}`;
      if (cur && cur.key !== key) {
        const finished = cur;
        setDone((d) => [...d, { key: `${d.length}`, text: `✔ ${describePhase(finished.e)} ${countText(finished.e)}` }]);
        cur = undefined;
      }
      const now = Date.now();
      cur = { e, key, started: cur?.started ?? now };
      if (now - lastDraw > 80 || (e.total !== undefined && e.loaded >= e.total)) {
        lastDraw = now;
        setCurrent(cur);
      }
    });
  }, [subscribe]);
  const e = current?.e;
  const seconds = current ? Math.max(0.001, (Date.now() - current.started) / 1000) : 1;
  return (
    <Box flexDirection="column">
      <Static items={done}>{(d) => <Text key={d.key} dimColor>{d.text.length < columns ? d.text : `${d.text.slice(0, columns - 2)}…`}</Text>}</Static>
      {e ? <Live e={e} seconds={seconds} columns={columns} /> : null}
    </Box>
  );
}

function Live({ e, seconds, columns }: { e: ProgressEvent; seconds: number; columns: number }): React.ReactElement {
  const line = liveLine(e, seconds, columns);
  // One line, cut rather than wrapped: a wrapped live line leaves copies of itself behind.
  return (
    <Box width={columns - 1} overflow="hidden">
      <Text wrap="truncate-end">
        {line.label}
        {line.bar > 0 && e.total !== undefined ? <Bar loaded={e.loaded} total={e.total} width={line.bar} /> : null}
        {line.count}
        <Text dimColor>{line.rate}</Text>
      </Text>
    </Box>
  );
}

export class InkProgress implements ProgressRenderer {
  private listener: Listener | undefined;
  private pending: ProgressEvent[] = [];
  private readonly instance: Instance;

  constructor(io: CliIO) {
    const subscribe = (l: Listener): void => {
      this.listener = l;
      for (const e of this.pending) l(e);
      this.pending = [];
    };
    const columns = Math.min(100, io.stderr.columns || 100);
    this.instance = render(<ProgressView subscribe={subscribe} columns={columns} />, {
      stdout: io.stderr as unknown as NodeJS.WriteStream,
      stderr: io.stderr as unknown as NodeJS.WriteStream,
      patchConsole: false,
      exitOnCtrlC: false,
    });
  }

  onProgress(e: ProgressEvent): void {
    if (this.listener) this.listener(e);
    else this.pending.push(e);
  }

  async finish(): Promise<void> {
    this.instance.clear();
    this.instance.unmount();
    await this.instance.waitUntilExit().catch(() => undefined);
  }
}
