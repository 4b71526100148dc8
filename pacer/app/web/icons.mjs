// pacer's app icons as PNG, drawn here pixel by pixel (no image tools, no
// downloads): a ring with a dot on the brand colour, as icon.svg.
import { deflateSync } from 'node:zlib';

const BRAND = [0x1d, 0x4e, 0x5f];
const PAPER = [0xf6, 0xf4, 0xef];
const SUN = [0xf2, 0xb8, 0x4b];

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An RGBA PNG of size x size; maskable: full-bleed background, art in the safe zone. */
export function iconPng(size, { maskable = false } = {}) {
  const scale = maskable ? 0.8 : 1;
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const c = size / 2;
  const corner = maskable ? 0 : size * 0.22;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const px = x + 0.5, py = y + 0.5;
      const r = Math.hypot(px - c, py - c) / (size / 100) / scale; // in icon.svg units
      let rgba = [...BRAND, 255];
      // rounded square corners (transparent outside)
      const dx = Math.max(corner - px, 0, px - (size - corner));
      const dy = Math.max(corner - py, 0, py - (size - corner));
      if (corner && Math.hypot(dx, dy) > corner) rgba = [0, 0, 0, 0];
      else if (Math.abs(r - 30) <= 4.5) rgba = [...PAPER, 255];
      else if (r <= 9) rgba = [...SUN, 255];
      raw.set(rgba, y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
