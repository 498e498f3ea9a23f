import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/engine/simulator.js';
import { BandwidthLink, ExclusiveGroup, SerialResource } from '../../src/engine/resource.js';

describe('Simulator', () => {
  it('delivers events in time order and advances the clock', () => {
    const sim = new Simulator();
    const log: Array<[string, number]> = [];
    const t = sim.register({ onEvent: (kind) => log.push([`e${kind}`, sim.now]) });
    sim.at(2, t, 1);
    sim.at(1, t, 2);
    sim.after(1.5, t, 3);
    sim.run();
    expect(log).toEqual([['e2', 1], ['e3', 1.5], ['e1', 2]]);
  });

  it('refuses to schedule in the past', () => {
    const sim = new Simulator();
    const t = sim.register({ onEvent: () => sim.at(0, t, 0) });
    sim.at(1, t, 0);
    expect(() => sim.run()).toThrow(/past/);
  });

  it('stops at `until` and resumes', () => {
    const sim = new Simulator();
    const seen: number[] = [];
    const t = sim.register({ onEvent: (k) => seen.push(k) });
    sim.at(1, t, 1);
    sim.at(3, t, 3);
    sim.run(2);
    expect(seen).toEqual([1]);
    expect(sim.now).toBe(2);
    sim.run();
    expect(seen).toEqual([1, 3]);
  });
});

describe('SerialResource', () => {
  it('runs one job at a time, lower priority number first, FIFO within a priority', () => {
    const sim = new Simulator();
    const log: Array<[number, number, number]> = [];
    const r = new SerialResource(sim, 'copy', { onJobDone: (res, _j, tag) => log.push([tag, res.doneStartSec, sim.now]) });
    r.submit(1, 1, 10); // starts at once
    r.submit(1, 1, 11); // prefetch
    r.submit(1, 0, 12); // demand: jumps ahead of 11, not of the running 10
    r.submit(1, 1, 13);
    sim.run();
    expect(log).toEqual([[10, 0, 1], [12, 1, 2], [11, 2, 3], [13, 3, 4]]);
    expect(r.busySec).toBe(4);
  });

  it('cancels queued jobs but never a running one', () => {
    const sim = new Simulator();
    const done: number[] = [];
    const r = new SerialResource(sim, 'copy', { onJobDone: (_r, _j, tag) => done.push(tag) });
    const a = r.submit(1, 0, 1);
    const b = r.submit(1, 0, 2);
    const c = r.submit(1, 0, 3);
    expect(r.cancel(a)).toBe(false);
    expect(r.cancel(b)).toBe(true);
    expect(r.queued).toBe(1);
    sim.run();
    expect(done).toEqual([1, 3]);
    expect(sim.now).toBe(2);
    expect(r.isQueued(c)).toBe(false);
  });

  it('reprioritize moves a queued job ahead and reports the new handle', () => {
    const sim = new Simulator();
    const done: number[] = [];
    const r = new SerialResource(sim, 'copy', { onJobDone: (_r, _j, tag) => done.push(tag) });
    const moves: Array<[number, number]> = [];
    r.remap = (o, n) => moves.push([o, n]);
    r.submit(1, 0, 1);
    r.submit(1, 0, 2);
    const late = r.submit(1, 5, 3);
    r.reprioritize(late, 0);
    r.submit(1, 0, 4);
    sim.run();
    expect(done).toEqual([1, 2, 3, 4]);
    expect(moves.length).toBe(1);
  });
});

describe('BandwidthLink', () => {
  it('charges its transfer-time function and counts completed bytes only', () => {
    const sim = new Simulator();
    const ends: number[] = [];
    const link = new BandwidthLink(sim, 'pcie', (bytes) => 1e-5 + bytes / 1e9, { onJobDone: () => ends.push(sim.now) });
    link.transfer(1e9, 0, 0);
    const j = link.transfer(5e8, 0, 0);
    link.transfer(5e8, 0, 0);
    link.cancel(j);
    sim.run();
    expect(ends[0]).toBeCloseTo(1.00001, 9);
    expect(ends[1]).toBeCloseTo(1.50002, 9);
    expect(link.bytesMoved).toBe(1.5e9);
  });
});

describe('ExclusiveGroup', () => {
  it('never runs two members at once; waiting jobs start in submission order across the group', () => {
    const sim = new Simulator();
    const log: string[] = [];
    const listener = { onJobDone: (r: SerialResource, _j: number, tag: number) => log.push(`${r.name}${tag}:${r.doneStartSec}-${sim.now}`) };
    const gpu = new SerialResource(sim, 'gpu', listener);
    const copy = new SerialResource(sim, 'copy', listener);
    new ExclusiveGroup([gpu, copy]);
    gpu.submit(1, 0, 1); // starts at once
    copy.submit(2, 0, 2); // waits for gpu1
    gpu.submit(1, 0, 3); // waits behind copy2 (submitted later)
    const cancelled = copy.submit(5, 0, 4);
    copy.submit(1, 0, 5);
    copy.cancel(cancelled);
    sim.run();
    expect(log).toEqual(['gpu1:0-1', 'copy2:1-3', 'gpu3:3-4', 'copy5:4-5']);
    expect(gpu.busySec + copy.busySec).toBe(sim.now);
  });

  it('a job submitted by a listener queues behind the jobs already waiting', () => {
    const sim = new Simulator();
    const log: string[] = [];
    let gpu: SerialResource;
    const copy = new SerialResource(sim, 'copy', {
      onJobDone: (_r, _j, tag) => {
        log.push(`copy${tag}@${sim.now}`);
        gpu.submit(1, 0, tag); // compute what arrived
      },
    });
    gpu = new SerialResource(sim, 'gpu', { onJobDone: (_r, _j, tag) => log.push(`gpu${tag}@${sim.now}`) });
    new ExclusiveGroup([gpu, copy]);
    copy.submit(2, 0, 1);
    copy.submit(2, 0, 2);
    sim.run();
    expect(log).toEqual(['copy1@2', 'copy2@4', 'gpu1@5', 'gpu2@6']);
  });

  it('the listener reacts before the next job starts: an urgent job it submits goes ahead of a waiting one of lower priority', () => {
    const sim = new Simulator();
    const log: string[] = [];
    let copy: SerialResource;
    const gpu = new SerialResource(sim, 'gpu', {
      onJobStart: (_r, _j, tag) => log.push(`gpu${tag}@${sim.now}`),
      onJobDone: (_r, _j, tag) => {
        if (tag === 1) copy.submit(1, 0, 9); // the gate: a demand fetch
      },
    });
    copy = new SerialResource(sim, 'copy', { onJobStart: (_r, _j, tag) => log.push(`copy${tag}@${sim.now}`), onJobDone: () => {} });
    new ExclusiveGroup([gpu, copy]);
    gpu.submit(1, 0, 1); // the router
    copy.submit(2, 5, 2); // a prefetch, waiting at low priority
    sim.run();
    // Were the next job started before the listener ran, the prefetch would have gone first.
    expect(log).toEqual(['gpu1@0', 'copy9@1', 'copy2@2']);
  });

  it('refuses a resource that is busy or already grouped', () => {
    const sim = new Simulator();
    const a = new SerialResource(sim, 'a', { onJobDone: () => {} });
    const b = new SerialResource(sim, 'b', { onJobDone: () => {} });
    new ExclusiveGroup([a]);
    expect(() => new ExclusiveGroup([a, b])).toThrow(/already/);
    b.submit(1, 0, 0);
    expect(() => new ExclusiveGroup([b])).toThrow(/before submitting/);
  });
});
