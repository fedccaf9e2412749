import { benchRelay } from "./relay.ts";
import { table } from "./report.ts";
const t0 = Date.now();
console.log(table(await benchRelay(true)));
console.log((Date.now()-t0)/1000, "s");
