import { loadCrypto } from "../src/cwtch/crypto.js";
import { randomHistory } from "./helpers/history.js";
const base = await loadCrypto();
let t0 = performance.now();
for (let i = 0; i < 40; i++) randomHistory(base, i, 30 + (i * 7) % 50);
console.log("gen", performance.now() - t0);
