/* Offline check of call-forward passes at an evacuation control centre station.
 *
 * The browser-side twin of src/safepassage/domain/passes.py: same wire format, same refusal
 * reasons and sentences, same order of checks. A station that has lost the network still has
 * this page, the operation's public keys and the last revocation list, and can tell a genuine
 * pass from a forged or altered one.
 *
 * Why tweetnacl (vendor/nacl-fast.min.js, tweetnacl-js 1.0.3, public domain) and not WebCrypto:
 * station tablets reach the app over plain http on the LAN, and crypto.subtle exists only in a
 * secure context (https or localhost). For the same reason SHA-256 is written out below:
 * tweetnacl has only SHA-512, and the names digest must be the SHA-256 that Python computes.
 *
 * Load vendor/nacl-fast.min.js first; this file adds window.SafePassagePass.
 */
(function (global) {
  "use strict";

  var nacl = global.nacl;
  if (!nacl || !nacl.sign || !nacl.sign.detached) {
    throw new Error("passcheck.js needs vendor/nacl-fast.min.js, loaded before it");
  }

  var PREFIX = "SP";
  var CLAIMS_BYTES = 30;
  var SIGNATURE_BYTES = 64;
  var NAMES_SEPARATOR = "|";
  var QR_SEPARATOR = "~";
  var SIGNING_CONTEXT = new TextEncoder().encode("safepassage pass v1\u0000");
  var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var DECODE = { O: 0, I: 1, L: 1 };
  for (var i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET[i]] = i;

  // Copied from passes.py (Refusal.sentence): keep them identical, operators learn them by heart.
  var SENTENCES = {
    unreadable: "This is not a readable pass. Scan it again or type the code.",
    forged: "FORGED: the signature does not match. Do not admit; call the supervisor.",
    altered: "ALTERED: the names on this pass were changed. Do not admit.",
    not_yet_valid: "Too early: this pass is not valid yet.",
    expired: "EXPIRED: this pass's time window has ended.",
    revoked: "REVOKED: this pass was withdrawn. Do not admit.",
    wrong_gate: "WRONG GATE: this pass is for another entry gate.",
    already_used: "ALREADY USED at this station. Do not admit a second time.",
    unknown: "This pass was not issued by this operation."
  };
  // Python's strftime("%b") in the C locale, which is what the server prints.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // Python's str.strip(), not String.trim(): the two disagree on U+001C..U+001F and U+0085
  // (Python strips them) and U+FEFF (JavaScript strips it). A names digest computed over a name
  // stripped differently would call a genuine pass ALTERED.
  var PY_SPACE = "[\\t\\n\\v\\f\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a" +
    "\\u2028\\u2029\\u202f\\u205f\\u3000]";
  var PY_STRIP = new RegExp("^" + PY_SPACE + "+|" + PY_SPACE + "+$", "g");
  function pyStrip(s) { return s.replace(PY_STRIP, ""); }

  function refusal(reason, detail) {
    return { ok: false, reason: reason, sentence: SENTENCES[reason], detail: detail || "" };
  }

  // Crockford base32 as passes.b32decode reads it: every character checked first, then the
  // length; the bits past size * 8 (the last character's padding) are ignored, as in Python.
  function b32decode(text, size) {
    var ch;
    for (ch of text) {  // code points, so that the message names the character Python names
      if (!Object.prototype.hasOwnProperty.call(DECODE, ch)) {
        throw new Error("'" + ch + "' is not a pass character");
      }
    }
    var extra = text.length * 5 - size * 8;
    if (extra < 0 || extra >= 5) {
      throw new Error("a pass code has " + Math.floor((size * 8 + 4) / 5) +
        " characters, not " + text.length);
    }
    var out = new Uint8Array(size), acc = 0, nbits = 0, j = 0;
    for (var k = 0; k < text.length; k++) {
      acc = ((acc << 5) | DECODE[text[k]]) & 0xfff;  // at most 12 bits are ever pending
      nbits += 5;
      if (nbits >= 8) {
        nbits -= 8;
        if (j < size) out[j++] = (acc >> nbits) & 0xff;
      }
    }
    return out;
  }

  function b32encode(data) {
    var out = "", acc = 0, nbits = 0;
    for (var k = 0; k < data.length; k++) {
      acc = ((acc << 8) | data[k]) & 0xfff;
      nbits += 8;
      while (nbits >= 5) { nbits -= 5; out += ALPHABET[(acc >> nbits) & 31]; }
    }
    if (nbits > 0) out += ALPHABET[(acc << (5 - nbits)) & 31];
    return out;
  }

  function unb64url(text) {
    var b64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    var bin = global.atob(b64 + "===".slice((b64.length + 3) % 4));
    var out = new Uint8Array(bin.length);
    for (var k = 0; k < bin.length; k++) out[k] = bin.charCodeAt(k);
    return out;
  }

  // The group order of Ed25519, little-endian. tweetnacl accepts a signature whose S is not
  // reduced (S + L verifies as S does); OpenSSL, which the server uses, refuses it. Checking
  // S < L here keeps the two verifiers agreeing on every code.
  var L = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
    0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
  function canonicalS(signature) {
    for (var k = 31; k >= 0; k--) {
      if (signature[32 + k] !== L[k]) return signature[32 + k] < L[k];
    }
    return false;  // S == L
  }

  function verify(publicKeys, keyId, message, signature) {
    if (!publicKeys || !Object.prototype.hasOwnProperty.call(publicKeys, String(keyId))) {
      return false;  // as PassVerifier: a key we do not know signs nothing we accept
    }
    var key = unb64url(publicKeys[String(keyId)]);
    if (key.length !== 32) {
      // a broken key list is the page's fault, not the pass's: say so instead of "FORGED"
      throw new Error("public key " + keyId + " is " + key.length + " bytes, not 32");
    }
    return canonicalS(signature) && nacl.sign.detached.verify(message, signature, key);
  }

  function namesDigest(names) {
    var text = names.map(function (n) { return pyStrip(n).normalize("NFC"); }).join("\n");
    return sha256(new TextEncoder().encode(text)).subarray(0, 8);
  }

  // PassClaims.unpack and PassClaims.__post_init__, with Python's messages ("field: message").
  function unpackClaims(body) {
    var v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (body[0] !== 1) throw new Error("pass version " + body[0] + " is not known here");
    var c = {
      keyId: body[1],
      passId: v.getUint32(2),
      householdId: v.getUint32(6),
      validFrom: new Date(v.getUint32(10) * 1000),
      validUntil: new Date(v.getUint32(14) * 1000),
      gateStationId: v.getUint16(18),
      persons: body[20],
      lapInfants: body[21]
    };
    if (c.persons < 1) throw new Error("persons: a pass admits between 1 and 255 persons");
    if (c.lapInfants > c.persons) {
      throw new Error("lap_infants: lap infants are counted among the persons");
    }
    if (c.validUntil <= c.validFrom) {
      throw new Error("valid_until: a pass must end after it starts");
    }
    return c;
  }

  /* Decode and verify a scanned or typed pass, as passes.read does.
   *
   * publicKeys: {"1": "<base64url of the raw 32-byte Ed25519 key>", ...}.
   * Returns {ok: true, code, claims, names} (names null when only the short code was read) or
   * {ok: false, reason, sentence, detail}: reason "unreadable", "forged" or "altered", sentence
   * the operator's sentence, detail Python's explanation of an unreadable code ("" otherwise).
   */
  function readPass(text, publicKeys) {
    var whole = pyStrip(String(text));
    var cut = whole.indexOf(QR_SEPARATOR);
    var codePart = cut < 0 ? whole : whole.slice(0, cut);
    var code = pyStrip(codePart).replace(/[ \-\t\r\n]/g, "").toUpperCase();
    if (code.slice(0, PREFIX.length) !== PREFIX) {
      return refusal("unreadable", "a pass code starts with SP");
    }
    var raw;
    try {
      raw = b32decode(code.slice(PREFIX.length), CLAIMS_BYTES + SIGNATURE_BYTES);
    } catch (e) {
      return refusal("unreadable", e.message);
    }
    var body = raw.subarray(0, CLAIMS_BYTES);
    var message = new Uint8Array(SIGNING_CONTEXT.length + CLAIMS_BYTES);
    message.set(SIGNING_CONTEXT);
    message.set(body, SIGNING_CONTEXT.length);
    if (!verify(publicKeys, body[1], message, raw.subarray(CLAIMS_BYTES))) {
      return refusal("forged");
    }
    var claims;
    try {
      claims = unpackClaims(body);
    } catch (e) {  // signed by the operation, yet not a pass it could have written
      return refusal("unreadable", e.message);
    }
    var names = null;
    if (cut >= 0) {
      var namesPart = whole.slice(cut + 1);
      names = namesPart ? namesPart.split(NAMES_SEPARATOR) : [];
      var digest = namesDigest(names), signed = body.subarray(22, 30);
      for (var k = 0; k < 8; k++) {
        if (digest[k] !== signed[k]) return refusal("altered");
      }
    }
    return { ok: true, code: PREFIX + b32encode(raw), claims: claims, names: names };
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }
  // strftime("%d %b %H:%M UTC") of a UTC datetime
  function utcText(d) {
    return pad2(d.getUTCDate()) + " " + MONTHS[d.getUTCMonth()] + " " +
      pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + " UTC";
  }

  function contains(collection, value) {
    if (!collection) return false;
    var has = typeof collection.has === "function"
      ? function (x) { return collection.has(x); }
      : function (x) { return Array.prototype.indexOf.call(collection, x) >= 0; };
    // a revocation list read from JSON or a data attribute may hold "17" rather than 17;
    // missing a revoked pass over a type would admit it
    return has(value) || has(String(value));
  }

  /* Decide whether this station admits a pass it has read, as the server would.
   *
   * Checks, in order: the time window (check_window), the revocation list, the entry gate
   * (check_gate), and single use at this station. A refused read is returned as it is.
   * options: {now: Date (default: the tablet's clock), stationId, stationIsGate,
   *           revoked: Set or array of pass ids, used: Set or array of "passId:stationId"}.
   * Returns {ok: true} or {ok: false, reason, sentence, detail}; for the window the sentence
   * ends with the detail in brackets, as PassRefused's message does.
   */
  function checkPass(read, options) {
    if (!read || !read.ok) return read;
    var o = options || {};
    var now = o.now === undefined ? new Date() : o.now;
    var stationId = Number(o.stationId);
    if (!(now instanceof Date) || isNaN(now.getTime())) throw new TypeError("now must be a Date");
    // without a station id "already used" could never match: refuse to check at all
    if (!Number.isInteger(stationId)) throw new TypeError("stationId must be an integer");
    var c = read.claims, r;
    // revoked first: "withdrawn" is what the operator must know, whatever the time
    if (contains(o.revoked, c.passId)) {
      r = refusal("revoked");
    } else if (now < c.validFrom) {
      r = refusal("not_yet_valid", "valid from " + utcText(c.validFrom));
    } else if (now >= c.validUntil) {
      r = refusal("expired", "ended " + utcText(c.validUntil));
    } else if (o.stationIsGate && c.gateStationId !== stationId) {
      r = refusal("wrong_gate");
    } else if (contains(o.used, c.passId + ":" + stationId)) {
      r = refusal("already_used");
    } else {
      return { ok: true };
    }
    if (r.detail) r.sentence += " (" + r.detail + ")";
    return r;
  }

  /* SHA-256 (FIPS 180-4) of a Uint8Array; the plain textbook form, for the names digest. */
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }
  function sha256(bytes) {
    var n = bytes.length, total = Math.ceil((n + 9) / 64) * 64;
    var m = new Uint8Array(total);
    m.set(bytes);
    m[n] = 0x80;
    var dv = new DataView(m.buffer);
    dv.setUint32(total - 8, Math.floor(n / 0x20000000));  // the length in bits, 64-bit big-endian
    dv.setUint32(total - 4, (n << 3) >>> 0);
    var H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    var W = new Uint32Array(64);
    for (var off = 0; off < total; off += 64) {
      for (var t = 0; t < 16; t++) W[t] = dv.getUint32(off + 4 * t);
      for (t = 16; t < 64; t++) {
        var s0 = rotr(W[t - 15], 7) ^ rotr(W[t - 15], 18) ^ (W[t - 15] >>> 3);
        var s1 = rotr(W[t - 2], 17) ^ rotr(W[t - 2], 19) ^ (W[t - 2] >>> 10);
        W[t] = W[t - 16] + s0 + W[t - 7] + s1;  // a Uint32Array stores the sum modulo 2^32
      }
      var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (t = 0; t < 64; t++) {
        var t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
          K[t] + W[t]) | 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    var out = new Uint8Array(32), ov = new DataView(out.buffer);
    for (t = 0; t < 8; t++) ov.setUint32(4 * t, H[t]);
    return out;
  }

  global.SafePassagePass = {
    readPass: readPass,
    checkPass: checkPass,
    sha256: sha256,
    SENTENCES: Object.freeze(SENTENCES)
  };
})(window);
