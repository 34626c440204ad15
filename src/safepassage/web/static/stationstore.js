/* What a station page keeps in the browser, encrypted, and wiped at logout.
 *
 * A station tablet that loses the network keeps its scans (names, pass codes) in localStorage
 * until they are sent. A tablet can be lost or picked up by someone else, so nothing about a
 * person is kept there in clear: each value is AES-256-GCM ciphertext under a key the server
 * derives from the login session (auth.station_queue_key) and puts in the station page only.
 * The page imports it as a non-extractable CryptoKey and removes it from the page; it never
 * reaches a URL or the storage. Once the session ends the server cannot derive it again, so what
 * an earlier login left is unreadable: it is deleted at the next station page, which says how
 * many queued scans were lost.
 *
 * A kept value is one line, not JSON: "spv1.<count>.<iv>.<ciphertext>" (base64url; a fresh
 * 12-byte IV per write; the storage name is the additional data, so a value cannot be moved to
 * another name). <count> is how many scans a queue holds, in clear so that logging out from any
 * page can warn of unsent scans without the key.
 *
 * WebCrypto exists only in a secure context (https, or http to localhost / 127.0.0.1). Over plain
 * http to another host crypto.subtle is undefined: open() then fails and the station page says
 * on screen that offline scans are not kept, instead of keeping them in clear.
 *
 * Written by hand rather than with a library: WebCrypto does the cryptography; this is the
 * thin format around it. Loaded on every page (base.html) for the logout guard.
 */
(function (global) {
  "use strict";

  var VERSION = "spv1";
  var STATION_ITEM = /^sp-(queue|used)-\d+$|^sp-bundle$/;
  var QUEUE_ITEM = /^sp-queue-\d+$/;
  var enc = new TextEncoder(), dec = new TextDecoder();

  function b64url(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return global.btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    var b64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    var bin = global.atob(b64 + "===".slice((b64.length + 3) % 4));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  /* The names of everything a station page keeps (queues and used lists of every station). */
  function stationItems() {
    var names = [];
    for (var i = 0; i < localStorage.length; i++) {
      var k = localStorage.key(i);
      if (STATION_ITEM.test(k)) names.push(k);
    }
    return names;
  }

  /* How many scans the queues hold, read from the clear counts (no key needed). */
  function pending() {
    return stationItems().filter(function (k) { return QUEUE_ITEM.test(k); })
      .reduce(function (n, k) {
        var v = localStorage.getItem(k) || "", parts = v.split(".");
        if (parts[0] === VERSION) return n + (Number(parts[1]) || 0);
        try { var old = JSON.parse(v); return n + (Array.isArray(old) ? old.length : 0); } catch (e) {
          return n;
        }
      }, 0);
  }

  function wipe() { stationItems().forEach(function (k) { localStorage.removeItem(k); }); }

  function Store(key) { this.key = key; }

  /* The value kept under name (null if none); rejects if it was not written with this key. */
  Store.prototype.read = function (name) {
    var v = localStorage.getItem(name);
    if (v === null) return Promise.resolve(null);
    var parts = v.split(".");
    if (parts.length !== 4 || parts[0] !== VERSION) {
      return Promise.reject(new Error(name + " is not kept in this page's format"));
    }
    return global.crypto.subtle.decrypt(
      { name: "AES-GCM", iv: unb64url(parts[2]), additionalData: enc.encode(name) },
      this.key, unb64url(parts[3])
    ).then(function (plain) { return JSON.parse(dec.decode(plain)); });
  };

  /* Keep value under name, encrypted; count is the number of scans it holds (0 if not a queue). */
  Store.prototype.write = function (name, value, count) {
    var iv = global.crypto.getRandomValues(new Uint8Array(12));
    return global.crypto.subtle.encrypt(
      { name: "AES-GCM", iv: iv, additionalData: enc.encode(name) },
      this.key, enc.encode(JSON.stringify(value))
    ).then(function (ct) {
      localStorage.setItem(name, [VERSION, count || 0, b64url(iv), b64url(new Uint8Array(ct))]
        .join("."));
    });
  };

  /* Delete what this key cannot read (an earlier login's); encrypt what an older page kept in
   * clear. Resolves to the number of queued scans deleted. */
  Store.prototype.sweep = function () {
    var self = this;
    return Promise.all(stationItems().map(function (name) {
      var v = localStorage.getItem(name) || "", parts = v.split(".");
      var count = parts[0] === VERSION ? Number(parts[1]) || 0 : 0;
      if (parts[0] !== VERSION) {
        var old;
        try { old = JSON.parse(v); } catch (e) { old = undefined; }
        if (old !== undefined && old !== null) {
          return self.write(name, old, Array.isArray(old) && QUEUE_ITEM.test(name) ? old.length : 0)
            .then(function () { return 0; });
        }
      }
      return self.read(name).then(function () { return 0; }, function () {
        localStorage.removeItem(name);
        return QUEUE_ITEM.test(name) ? count : 0;
      });
    })).then(function (lost) { return lost.reduce(function (a, b) { return a + b; }, 0); });
  };

  /* A Store under the session's key (base64url of 32 bytes); rejects, saying why, if this page
   * cannot encrypt. */
  function open(rawKey) {
    if (!rawKey) return Promise.reject(new Error("this page was opened without a login session"));
    if (!global.isSecureContext || !global.crypto || !global.crypto.subtle) {
      return Promise.reject(new Error("this page is not on a secure connection (https)"));
    }
    var raw = unb64url(rawKey);
    return global.crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false,
      ["encrypt", "decrypt"]).then(function (key) {
      raw.fill(0);
      return new Store(key);
    });
  }

  var api = { open: open, pending: pending, wipe: wipe, beforeLogout: null };

  // Logging out: send what can be sent, ask before throwing away what cannot, then wipe.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches('form[action="/logout"]')) return;
    ev.preventDefault();
    var before = api.beforeLogout ? api.beforeLogout() : Promise.resolve();
    Promise.resolve(before).catch(function () {}).then(function () {
      var n = pending();
      if (n && !global.confirm(n + (n === 1 ? " scan has" : " scans have") +
        " not been sent and will be lost. Log out anyway?")) return;
      wipe();
      HTMLFormElement.prototype.submit.call(form);
    });
  });

  global.SafePassageStore = api;
})(window);
