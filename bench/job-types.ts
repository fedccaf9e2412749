// What the bench's worker jobs (jobs.ts) are asked and answer: types only,
// so coldload.ts and fold.ts (which run jobs and are run by them) need not
// import jobs.ts.

export interface ColdOpenJob {
  url: string;
  n: number;
  founderSeed: string;
  pursuanceId: string;
  groupId: string;
}

export interface ColdOpenResult {
  openSeconds: number;
  loadEventsSeconds: number;
  backend: string;
  ok: boolean;
  summary: string;
}

export interface FoldRun {
  size: number;
  seconds: number;
  beforeRss: number;
  beforeHeap: number;
  peakRss: number;
  peakHeap: number;
  /** Off the JS heap: ArrayBuffer backing stores (event bytes) and other external memory, at the RSS peak's sample. */
  beforeArrayBuffers: number;
  peakArrayBuffers: number;
  peakExternal: number;
  /** Heap still held after the fold, over `beforeHeap` (the state and the fold's indexes). */
  retainedHeap: number;
}

export type Job = { kind: "fold"; n: number; sizes: number[]; pursuanceId: string } | ({ kind: "coldopen" } & ColdOpenJob);

export type JobMessage =
  | { type: "fold"; run: FoldRun }
  | { type: "coldopen"; result: ColdOpenResult }
  | { type: "done" }
  | { type: "error"; message: string };
