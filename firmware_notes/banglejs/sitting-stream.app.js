/* Sitting tracker: stream the Bangle.js 2 accelerometer over Bluetooth (Nordic UART).
 *
 * Line format, one sample per line, printed in batches of BATCH lines:
 *   A,<watch time s, 3 decimals>,<x g>,<y g>,<z g>\n     e.g. A,1700000000.125,-0.012,0.034,-1.001
 *
 * The host (tracker/devices/banglejs.py) can also upload an equivalent one-line snippet over the
 * REPL, so installing this app is optional. Both use the same global handler names, so running
 * one after the other replaces the listener instead of doubling it.
 *
 * Install: Espruino Web IDE -> Storage -> upload as "sitting-stream.app.js", or paste into the
 * IDE's right-hand pane and "Upload to RAM". Leave the app open while recording; press the
 * button to quit (which restores the normal power-saving accelerometer).
 */
(function () {
  var BATCH = 5;      // 5 samples at 12.5 Hz = one print every 0.4 s
  var buffer = "";
  var pending = 0;
  var sent = 0;

  // Remove listeners left by an earlier run or by the host snippet (they survive reconnects).
  if (global.__sitA) Bangle.removeListener("accel", global.__sitA);
  if (global.__sitD) NRF.removeListener("disconnect", global.__sitD);

  function connected() {
    return NRF.getSecurityStatus().connected;
  }

  global.__sitA = function (a) {
    buffer += "A," + getTime().toFixed(3) + "," + a.x.toFixed(3) + "," +
      a.y.toFixed(3) + "," + a.z.toFixed(3) + "\n";
    if (++pending < BATCH) return;
    // Printing with nobody connected would only queue text; drop the batch instead.
    if (connected()) {
      Bluetooth.print(buffer);
      sent += pending;
    }
    buffer = "";
    pending = 0;
  };
  global.__sitD = function () {
    buffer = "";
    pending = 0;
  };

  function draw() {
    g.reset().clearRect(Bangle.appRect);
    g.setFont("6x8", 2).setFontAlign(0, 0);
    var x = (Bangle.appRect.x + Bangle.appRect.x2) / 2;
    var y = (Bangle.appRect.y + Bangle.appRect.y2) / 2;
    g.drawString("Sitting stream", x, y - 20);
    g.drawString(connected() ? "connected" : "waiting", x, y);
    g.drawString(sent + " sent", x, y + 20);
  }

  function quit() {
    Bangle.removeListener("accel", global.__sitA);
    NRF.removeListener("disconnect", global.__sitD);
    clearInterval(redraw);
    // Back to the default: 12.5 Hz while moving, 1.25 Hz after a still minute.
    Bangle.setOptions({ powerSave: true });
    load();
  }

  g.clear();
  Bangle.loadWidgets();
  Bangle.drawWidgets();
  // 80 ms poll = 12.5 Hz and power save off: the default would drop to 1.25 Hz after a
  // minute without movement, which is exactly what sitting looks like.
  Bangle.setPollInterval(80);
  Bangle.on("accel", global.__sitA);
  NRF.on("disconnect", global.__sitD);
  Bangle.setUI({ mode: "custom", btn: quit });
  var redraw = setInterval(draw, 5000);
  draw();
})();
