/* The station page: scan, see who the pass is for, decide; keeps working with the network down.
 *
 * Online, the server decides (POST /api/v1/scans) and its answer is shown. Offline, the pass is
 * checked here (passcheck.js: signature with the operation's public key, window, gate, the last
 * revocation list received, this device's own earlier scans) and the scan is queued in
 * localStorage, encrypted under the login session's key (stationstore.js); it is sent with its
 * idempotency key when the network is back, so a resend can never count twice. A pass admitted
 * by two offline stations comes back as a conflict for the coordinator; this page shows it in
 * the log. A page that cannot encrypt (no secure connection) keeps nothing and says so.
 *
 * What is kept is read once at load into `kept` and changed only through keep(): one change
 * after another, each on what the last write left, so no queued scan is lost to a race between
 * two asynchronous writes.
 */
(function () {
  "use strict";
  var root = document.getElementById("station");
  var form = document.getElementById("scan-form");
  if (!root || !form) return;
  var SP = window.SafePassagePass;
  var stationId = Number(root.dataset.stationId);
  var kind = root.dataset.stationKind;
  var flightId = root.dataset.flight ? Number(root.dataset.flight) : null;
  var bundle = JSON.parse(root.dataset.bundle);
  var rawKey = root.dataset.queueKey;
  root.removeAttribute("data-queue-key");  // from here on only the CryptoKey, in memory
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  var QUEUE = "sp-queue-" + stationId, USED = "sp-used-" + stationId, BUNDLE = "sp-bundle";
  var device = localStorage.getItem("sp-device");
  if (!device) {
    device = "dev-" + Math.random().toString(36).slice(2, 10);
    localStorage.setItem("sp-device", device);
  }
  var $ = function (id) { return document.getElementById(id); };
  var input = $("scan"), result = $("result"), decide = $("decide"), log = $("log");
  var current = null;  // the pass read and checked, waiting for a decision
  var Store = window.SafePassageStore;
  var store = null;  // null: this page cannot keep anything (see `ready`)
  var kept = {};
  kept[QUEUE] = [];
  kept[USED] = [];
  kept[BUNDLE] = null;
  var writes = Promise.resolve();

  // Change what is kept under name: change(current) gives the new value, written encrypted
  // after every earlier write, on what is stored now (another tab of this login may have
  // written since); resolves once it is stored (rejects if it could not be).
  function keep(name, change) {
    var step = writes.then(function () {
      if (!store) { kept[name] = change(kept[name]); return kept[name]; }
      return store.read(name).then(function (now) {
        return now === null ? kept[name] : now;
      }, function () { return kept[name]; }).then(function (current) {
        var next = change(current);
        return store.write(name, next, name === QUEUE ? next.length : 0).then(function () {
          kept[name] = next;
          return next;
        });
      });
    });
    writes = step.catch(function () {});
    return step;
  }
  function queue() { return kept[QUEUE]; }
  function used() { return kept[USED]; }
  function say(text) {
    var p = $("keeping");
    p.textContent = text;
    p.hidden = !text;
  }
  var notKept = "";  // why this page keeps nothing, once known
  function newKey() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return stationId + "-" + Array.prototype.map.call(a, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function setNet(online) {
    var net = $("net");
    net.textContent = online ? "online" : "OFFLINE — checking here, scans queued";
    net.className = "net " + (online ? "online" : "offline");
  }
  function showQueued() {
    var n = queue().length;
    $("queued").textContent = n + " scan" + (n === 1 ? "" : "s") + " waiting to send";
  }

  function show(kindClass, title, lines) {
    result.className = "result " + kindClass;
    result.innerHTML = "";
    var h = document.createElement("p");
    h.className = "verdict";
    h.textContent = title;
    result.appendChild(h);
    (lines || []).forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      result.appendChild(p);
    });
  }
  function addLog(text, cls) {
    var li = document.createElement("li");
    li.textContent = new Date().toISOString().slice(11, 19) + " " + text;
    if (cls) li.className = cls;
    log.insertBefore(li, log.firstChild);
  }

  function check(text) {
    var keys = bundle.public_keys || {};
    var read = SP.readPass(text, keys);
    var verdict = SP.checkPass(read, {
      stationId: stationId, stationIsGate: kind === "gate",
      // this device's own record of use counts only offline: online, the server knows better
      // (and lets a late member through on the same pass, by name)
      revoked: bundle.revoked || [], used: navigator.onLine ? [] : used()
    });
    return { read: read, verdict: verdict };
  }

  function who(read) {
    var c = read.claims;
    var count = c.persons + " person" + (c.persons === 1 ? "" : "s") +
      (c.lapInfants ? " (" + c.lapInfants + " lap infant" + (c.lapInfants === 1 ? "" : "s") + ")" : "");
    var names = read.names ? read.names.join(", ") : "names shown once the server answers";
    return ["Household pass " + c.passId + ": " + count, names];
  }

  var mrzLines = [];  // an MRZ reader types its lines one by one, each ending with Enter

  function mrzComplete(lines) {
    var n = lines.length, w = n ? lines[0].length : 0;
    var same = lines.every(function (l) { return l.length === w; });
    return same && ((n === 2 && (w === 44 || w === 36)) || (n === 3 && w === 30));
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    input.value = "";
    if (!text) return;
    if (!/^sp/i.test(text)) {
      if (/^[A-Z0-9<]{30,44}$/i.test(text) && text.indexOf("<") >= 0) {
        mrzLines.push(text.toUpperCase());
        if (!mrzComplete(mrzLines)) {
          show("pending", "Passport lines: " + mrzLines.length + " read, waiting for the next…", []);
          return;
        }
        text = mrzLines.join("\n");
      }
      mrzLines = [];
      find(text);
      return;
    }
    mrzLines = [];
    take(text);
  });

  // Online, the server's preview decides what the operator sees (a tablet's clock or its last
  // revocation list may be wrong); the check here decides only when the server cannot be asked.
  function take(text) {
    var r = check(text);
    current = null;
    decide.hidden = true;
    if (!navigator.onLine) {
      localVerdict(text, r);
      return;
    }
    var cur = { text: text, read: r.read, members: null, local: r };
    current = cur;
    show("pending", "Checking the pass…", r.read.ok ? who(r.read) : []);
    previewOnServer(cur);
  }

  function localVerdict(text, r) {
    if (!r.verdict.ok) {
      current = null;
      show("refused", r.verdict.sentence, r.read.ok ? who(r.read) : []);
      addLog("refused: " + r.verdict.reason, "refused");
      input.focus();
      return;
    }
    current = { text: text, read: r.read, members: null };
    show("pending", "Valid pass (checked here, offline). Check the people, then decide.",
      who(r.read));
    decide.hidden = false;
    $("reason").value = "";
    $("b-pass").focus();
  }

  function previewOnServer(cur) {
    postJson("/api/v1/scans/preview", { station_id: stationId, text: cur.text, flight_id: flightId })
      .then(function (r) {
        setNet(true);
        if (current !== cur) return;
        var d = r.data;
        if (r.status !== 200 || !d.ok) {
          current = null;
          show("refused", (d && (d.message || d.detail)) || ("Error " + r.status), []);
          addLog("refused: " + ((d && d.reason) || r.status), "refused");
          input.focus();
          return;
        }
        show("pending", "Valid pass for " + d.on_pass.persons + " (" + d.on_pass.lap_infants +
          " lap infant" + (d.on_pass.lap_infants === 1 ? "" : "s") + "). Untick anyone not here.",
          d.flight ? ["Departure: " + d.flight] : []);
        var list = document.createElement("ul");
        list.className = "members";
        cur.members = [];
        d.persons.forEach(function (p) {
          var li = document.createElement("li");
          var box = document.createElement("input");
          box.type = "checkbox";
          box.value = p.id;
          box.checked = !p.problem;
          box.disabled = !!p.problem;
          box.id = "m-" + p.id;
          var label = document.createElement("label");
          label.htmlFor = box.id;
          label.textContent = " " + p.name + (p.lap_infant ? " (lap infant)" : "") +
            (p.needs.length ? " — needs: " + p.needs.join(", ") : "") +
            (p.problem ? " — " + p.problem : "");
          if (p.problem) li.className = "refused";
          li.appendChild(box);
          li.appendChild(label);
          list.appendChild(li);
          cur.members.push(box);
        });
        result.appendChild(list);
        decide.hidden = false;
        $("reason").value = "";
        $("b-pass").focus();
      }).catch(function () {
        setNet(false);
        if (current === cur) localVerdict(cur.text, cur.local);
      });
  }

  function find(query) {
    current = null;
    decide.hidden = true;
    fetch("/api/v1/passes/find?q=" + encodeURIComponent(query), { credentials: "same-origin" })
      .then(function (resp) {
        return resp.json().then(function (d) { return { status: resp.status, data: d }; });
      }).then(function (r) {
        setNet(true);
        if (r.status !== 200) {
          show("refused", (r.data && r.data.detail) || "Not found", []);
          return;
        }
        if (!r.data.length) {
          show("refused", "No live pass for this passport or name.", []);
          return;
        }
        show("pending", "Choose the household:", []);
        r.data.forEach(function (p) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "big";
          b.textContent = "Household " + p.reference + ": " + p.names.join(", ");
          b.addEventListener("click", function () { take(p.qr_text); });
          result.appendChild(b);
        });
        result.querySelector("button").focus();
      }).catch(function () {
        setNet(false);
        show("refused", "Searching needs the network: scan the pass instead.", []);
      });
  }

  function body(text, outcome, reason) {
    return {
      idem_key: newKey(), station_id: stationId, text: text, outcome: outcome, reason: reason,
      flight_id: flightId, device: device, scanned_at: new Date().toISOString(), offline: false
    };
  }

  function decideWith(outcome) {
    if (!current) return;
    var reason = $("reason").value.trim();
    if (outcome === "refuse" && !reason) {
      show("refused", "Say why before refusing.", []);
      $("reason").focus();
      return;
    }
    var b = body(current.text, outcome, reason);
    if (current.members) {
      var ids = current.members.filter(function (x) { return x.checked; })
        .map(function (x) { return Number(x.value); });
      if (!ids.length) {
        show("refused", "Tick at least one person.", []);
        return;
      }
      if (ids.length < current.members.length) b.members = ids;
    }
    var read = current.read;
    current = null;
    decide.hidden = true;
    send(b, read);
    input.focus();
  }
  $("b-pass").addEventListener("click", function () { decideWith("pass"); });
  $("b-refer").addEventListener("click", function () { decideWith("refer"); });
  $("b-refuse").addEventListener("click", function () { decideWith("refuse"); });
  document.addEventListener("keydown", function (ev) {
    if (decide.hidden || ev.target === $("reason") || ev.target === input) return;
    if (ev.target && ev.target.type === "checkbox" && ev.key === "Enter") {
      ev.preventDefault();
      decideWith("pass");
      return;
    }
    if (ev.key === "r" || ev.key === "R") { ev.preventDefault(); decideWith("refer"); }
    if (ev.key === "x" || ev.key === "X") { ev.preventDefault(); $("reason").focus(); }
  });

  function postJson(url, b) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(b)
    }).then(function (resp) {
      return resp.json().then(function (data) { return { status: resp.status, data: data }; });
    });
  }
  function post(b) { return postJson("/api/v1/scans", b); }

  function answered(b, data, quiet) {
    if (data.ok) {
      if (b.outcome === "pass") {
        keep(USED, function (u) { return u.concat([data.pass_id + ":" + stationId]).slice(-5000); });
      }
      var lines = data.persons.map(function (p) {
        return p.name + (p.lap_infant ? " (lap infant)" : "") +
          (p.needs.length ? " — needs: " + p.needs.join(", ") : "");
      });
      if (data.flight) lines.push("Departure: " + data.flight);
      if (!quiet) show(b.outcome === "pass" ? "admitted" : "refused", data.message, lines);
      addLog(data.message, b.outcome === "pass" ? "admitted" : "refused");
    } else {
      if (!quiet) show("refused", data.message, []);
      addLog((data.outcome === "conflict" ? "CONFLICT: " : "refused: ") + data.message,
        data.outcome === "conflict" ? "conflict" : "refused");
    }
  }

  function send(b, read) {
    post(b).then(function (r) {
      setNet(true);
      if (r.status === 200) answered(b, r.data, false);
      else show("refused", (r.data && r.data.detail) || ("Error " + r.status), []);
    }).catch(function () {
      setNet(false);
      var lines = read ? who(read) : [];
      var what = b.outcome === "pass" ? "ADMITTED" : b.outcome.toUpperCase();
      ready.then(function () {
        if (!store) throw new Error(notKept);
        b.offline = true;
        return keep(QUEUE, function (q) { return q.concat([b]); });
      }).then(function () {
        if (b.outcome === "pass") {
          keep(USED, function (u) { return u.concat([read.claims.passId + ":" + stationId]); });
        }
        showQueued();
        show(b.outcome === "pass" ? "admitted" : "refused",
          what + " (offline): queued, will be sent when the network is back.", lines);
        addLog("queued offline: " + b.outcome, "queued");
      }).catch(function (e) {
        show("refused", what + " NOT RECORDED: the network is down and this tablet cannot keep " +
          "the scan (" + (e.message || "storage failed") + "). Write it down and scan it again " +
          "when the network is back.", lines);
        addLog("NOT RECORDED offline: " + b.outcome, "refused");
      });
    });
  }

  // Send the queue, oldest first, until it is empty or the network fails; one run at a time.
  var syncing = null;
  function sync() {
    if (!syncing) {
      var done = function () { syncing = null; };
      syncing = ready.then(sendNext).then(done, done);
    }
    return syncing;
  }
  function sendNext() {
    var b = queue()[0];
    if (!store || !b) return null;
    return post(b).then(function (r) {
      setNet(true);
      if (r.status === 401) {  // keep it: the next login cannot read it, but this page still can
        say("Your login has ended: " + queue().length + " queued scans cannot be sent. " +
          "Ask the supervisor before you log in again: they will be lost.");
        return null;
      }
      return keep(QUEUE, function (q) {
        return q.filter(function (x) { return x.idem_key !== b.idem_key; });
      }).then(function () {
        showQueued();
        if (r.status === 200) answered(b, r.data, true);
        else addLog("not accepted: " + ((r.data && r.data.detail) || r.status), "refused");
        return sendNext();
      });
    }, function () { setNet(false); });
  }

  function refresh() {
    var url = "/api/v1/stations/bundle?station_id=" + stationId;
    fetch(url, { credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) throw new Error(String(resp.status));
      return resp.json();
    }).then(function (b) {
      bundle.public_keys = b.public_keys;
      bundle.revoked = b.revoked;
      keep(BUNDLE, function () { return bundle; });
      setNet(true);
    }).catch(function () { setNet(false); });
  }

  // Open what this login keeps: delete what an earlier login left (unreadable now), read the rest.
  var ready = Store.open(rawKey).then(function (s) {
    store = s;
    return s.sweep();
  }).then(function (lost) {
    if (lost) {
      say(lost + (lost === 1 ? " queued scan" : " queued scans") + " from an earlier login " +
        "could not be read and " + (lost === 1 ? "was" : "were") + " deleted: " +
        (lost === 1 ? "it was" : "they were") + " never sent.");
    }
    return Promise.all([store.read(QUEUE), store.read(USED), store.read(BUNDLE)]);
  }).then(function (v) {
    kept[QUEUE] = v[0] || [];
    kept[USED] = v[1] || [];
    kept[BUNDLE] = v[2];
    var saved = v[2];
    if (saved && saved.public_keys && !Object.keys(bundle.public_keys || {}).length) bundle = saved;
  }, function (e) {
    store = null;
    notKept = e.message || String(e);
    say("Scans are NOT kept on this tablet while the network is down: " + notKept + ". " +
      "Offline, passes are still checked here, but a decision is not recorded.");
  });
  rawKey = null;
  ready.then(showQueued);
  Store.beforeLogout = sync;
  window.addEventListener("online", sync);
  setInterval(sync, 3000);
  setInterval(refresh, 60000);
  sync();
})();
