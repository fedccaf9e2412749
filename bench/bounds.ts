// What bounds each figure that misses its target, as the profiles showed it
// (node --cpu-prof on the section, or a heap summary). Kept apart from the
// jobs so a new profile updates one place; the results carry these as
// `bound` beside the number.

export const RELAY_BOUNDS: Record<string, string> = {};

export const FOLD_RSS_BOUND = "";

export const COLDLOAD_BOUND = "";

export const PIPELINE_BOUND = "";
