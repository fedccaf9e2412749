// A server's text message as the bytes of one whole WebSocket frame (RFC 6455
// §5.2: FIN, opcode 1 text, unmasked, no extension bits), header and payload
// in one buffer. The relay writes its most frequent messages this way, the
// `posted` answer to every post and every live frame, straight to the
// socket: ws.send makes a header buffer, an options object and two socket
// writes per message, which at tens of thousands of posts a second cost as
// much as a post's own parsing, and a live frame built once is written as it
// is to every subscriber. Only on a connection without extensions (the relay
// offers none), where ws's own sender writes each message at once: the two
// then never interleave and keep the order they are called in.

/** Header bytes of a frame carrying `payload` bytes. */
export function wireHeadBytes(payload: number): number {
  return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

/** A buffer holding a text frame's header for `payload` bytes, the payload to be written from wireHeadBytes(payload). */
export function wireFor(payload: number): Buffer {
  const h = wireHeadBytes(payload);
  const out = Buffer.allocUnsafe(h + payload);
  out[0] = 0x81; // FIN, text
  if (h === 2) out[1] = payload;
  else if (h === 4) (out[1] = 126), out.writeUInt16BE(payload, 2);
  else (out[1] = 127), out.writeUInt32BE(Math.floor(payload / 2 ** 32), 2), out.writeUInt32BE(payload >>> 0, 6);
  return out;
}

/** The text frame carrying `text`, which must be ASCII (each character one byte). */
export function asciiWire(text: string): Buffer {
  const out = wireFor(text.length);
  out.write(text, wireHeadBytes(text.length), text.length, "latin1");
  return out;
}

/** A frame's payload: what ws.send would send in it, for a connection that cannot take whole frames. */
export function wirePayload(wire: Buffer): Buffer {
  const b = wire[1]! & 0x7f;
  return wire.subarray(b < 126 ? 2 : b === 126 ? 4 : 10);
}
