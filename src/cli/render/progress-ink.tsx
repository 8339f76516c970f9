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

function ProgressView({ subscribe }: { subscribe: (l: Listener) => void }): React.ReactElement {
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
      <Static items={done}>{(d) => <Text key={d.key} dimColor>{d.text}</Text>}</Static>
      {e ? (
        <Box>
          <Text>{describePhase(e)} </Text>
          {e.total !== undefined ? <Bar loaded={e.loaded} total={e.total} width={24} /> : null}
          <Text> {countText(e)}</Text>
          {e.loaded > 0 && e.phase !== 'train' ? <Text dimColor> {Math.round(e.loaded / seconds)}/s</Text> : null}
        </Box>
      ) : null}
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
    this.instance = render(<ProgressView subscribe={subscribe} />, {
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
