"use strict";
// The Matrix SDKs import this package at load time but touch it only when a
// client turns on end-to-end encryption. Every export is a class or function
// that throws one clear error when used, so the SDKs import cleanly and any
// accidental E2EE use fails loudly instead of mysteriously.
const message =
  "Matrix E2EE unavailable: @matrix-org/matrix-sdk-crypto-nodejs is replaced by a stub in this build " +
  "(its native binary is not installable here). Pursuance encrypts its own log; Matrix-side E2EE is out of scope.";

class MatrixE2EEUnavailable extends Error {
  constructor() {
    super(message);
    this.name = "MatrixE2EEUnavailable";
  }
}

function unavailable(name) {
  const f = function () {
    throw new MatrixE2EEUnavailable();
  };
  Object.defineProperty(f, "name", { value: name });
  return new Proxy(f, {
    construct() {
      throw new MatrixE2EEUnavailable();
    },
    get(target, prop) {
      if (prop === "prototype") return target.prototype;
      if (prop === "name") return name;
      if (typeof prop === "symbol") return undefined;
      // Enum-like members (e.g. StoreType.Sqlite) read as their own name.
      return `${name}.${String(prop)}`;
    },
  });
}

const cache = new Map();
module.exports = new Proxy(
  { MatrixE2EEUnavailable, __esModule: false },
  {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (typeof prop === "symbol" || prop === "then") return undefined;
      if (!cache.has(prop)) cache.set(prop, unavailable(String(prop)));
      return cache.get(prop);
    },
  },
);
