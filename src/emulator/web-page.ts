/**
 * The camera's own web UI, small: a page that logs in over RPC2 as the firmware's does (two-step
 * `global.login`, the hash computed in the page's script), then reads and sets the camera's name with
 * `configManager.getConfig`/`setConfig`, keeping the session alive. Served without a login, as firmware
 * serves its static UI; for camgate's camera-UI tests and the demo. Its MD5 is its own (RFC 1321).
 */

export const WEB_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>WEB SERVICE</title><link rel="stylesheet" href="/css/ui.css"></head>
<body>
<h1>WEB SERVICE</h1>
<form id="login"><input id="user" name="user" aria-label="Username" value="admin">
<input id="pass" name="pass" type="password" aria-label="Password"><button type="submit">Login</button></form>
<section id="settings" hidden>
<p>Device name: <span id="name" data-testid="device-name"></span></p>
<form id="rename"><input id="newName" aria-label="New device name"><button type="submit">Save</button></form>
</section>
<p id="status" role="status" data-testid="status"></p>
<script src="/js/ui.js"></script>
</body></html>
`;

export const WEB_CSS = "body{font-family:sans-serif;margin:2rem}#status{color:#a00}";

export const WEB_SCRIPT = `"use strict";
function md5(text) {
  var bytes = new TextEncoder().encode(text), n = bytes.length, words = [], i;
  var total = ((n + 8) >>> 6) + 1;
  for (i = 0; i < total * 16; i++) words[i] = 0;
  for (i = 0; i < n; i++) words[i >> 2] |= bytes[i] << ((i % 4) * 8);
  words[n >> 2] |= 0x80 << ((n % 4) * 8);
  words[total * 16 - 2] = n * 8;
  var S = [7,12,17,22,7,12,17,22,7,12,17,22,7,12,17,22,5,9,14,20,5,9,14,20,5,9,14,20,5,9,14,20,
    4,11,16,23,4,11,16,23,4,11,16,23,4,11,16,23,6,10,15,21,6,10,15,21,6,10,15,21,6,10,15,21];
  var K = [];
  for (i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) | 0;
  var a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
  for (var chunk = 0; chunk < words.length; chunk += 16) {
    var a = a0, b = b0, c = c0, d = d0;
    for (i = 0; i < 64; i++) {
      var f, g;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * i) % 16; }
      var t = d; d = c; c = b;
      var sum = (a + f + K[i] + words[chunk + g]) | 0;
      b = (b + ((sum << S[i]) | (sum >>> (32 - S[i])))) | 0;
      a = t;
    }
    a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
  }
  var hex = "";
  [a0, b0, c0, d0].forEach(function (w) {
    for (var j = 0; j < 4; j++) hex += ((w >>> (j * 8)) & 255).toString(16).padStart(2, "0");
  });
  return hex.toUpperCase();
}
var session = null, id = 0;
function rpc(path, method, params) {
  var body = { method: method, params: params, id: ++id };
  if (session !== null) body.session = session;
  return fetch(path, { method: "POST", body: JSON.stringify(body) }).then(function (r) { return r.json(); });
}
function say(text) { document.getElementById("status").textContent = text; }
function showName() {
  return rpc("/RPC2", "configManager.getConfig", { name: "General" }).then(function (answer) {
    if (!answer.result) throw new Error(answer.error ? answer.error.message : "getConfig failed");
    document.getElementById("name").textContent = answer.params.table.MachineName;
  });
}
document.getElementById("login").addEventListener("submit", function (event) {
  event.preventDefault();
  var user = document.getElementById("user").value, pass = document.getElementById("pass").value;
  session = null;
  rpc("/RPC2_Login", "global.login", { userName: user, password: "", clientType: "Web3.0" }).then(function (challenge) {
    session = challenge.session;
    var hash = md5(user + ":" + challenge.params.random + ":" + md5(user + ":" + challenge.params.realm + ":" + pass));
    return rpc("/RPC2_Login", "global.login", { userName: user, password: hash, clientType: "Web3.0", authorityType: "Default", passwordType: "Default" });
  }).then(function (answer) {
    if (!answer.result) throw new Error(answer.error ? answer.error.message : "login failed");
    document.cookie = "DhWebClientSessionID=" + session + "; path=/";
    document.getElementById("login").hidden = true;
    document.getElementById("settings").hidden = false;
    say("");
    setInterval(function () { rpc("/RPC2", "global.keepAlive", { timeout: 300, active: true }); }, 30000);
    return showName();
  }).catch(function (error) { say(error.message); });
});
document.getElementById("rename").addEventListener("submit", function (event) {
  event.preventDefault();
  var name = document.getElementById("newName").value;
  rpc("/RPC2", "configManager.getConfig", { name: "General" }).then(function (answer) {
    var table = answer.params.table;
    table.MachineName = name;
    return rpc("/RPC2", "configManager.setConfig", { name: "General", table: table });
  }).then(function (answer) {
    if (!answer.result) throw new Error(answer.error ? answer.error.message : "setConfig failed");
    say("Saved");
    return showName();
  }).catch(function (error) { say(error.message); });
});
`;
