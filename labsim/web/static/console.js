// labsim web console: live views over Server-Sent Events, and the shell prompt.
// Served by the console itself (no inline script: the page's Content-Security-Policy forbids
// it). Text from the lab is only ever inserted as text (textContent) or as HTML the server
// escaped (a view's fragment).
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var main = document.getElementById("main");
  var liveState = document.getElementById("live-state");
  var clock = document.getElementById("lab-time");

  // --- live views ----------------------------------------------------------------------------
  var fetching = false;
  var again = false;

  function busyTyping() {
    // Never replace a form the trainer is typing in; refresh once they leave it.
    var active = document.activeElement;
    return !!(active && main && main.contains(active) &&
      /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  function refresh() {
    if (!main || !main.hasAttribute("data-live")) return;
    if (fetching || busyTyping()) { again = true; return; }
    fetching = true;
    fetch(location.pathname + location.search, {
      headers: { "X-Labsim-Fragment": "1" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    }).then(function (html) {
      main.innerHTML = html;  // the server's escaped HTML of this view
      main.setAttribute("data-refreshed", String(Date.now()));
    }).catch(function (err) {
      if (liveState) liveState.textContent = "view not refreshed (" + err.message + ")";
    }).then(function () {
      fetching = false;
      if (again) { again = false; refresh(); }
    });
  }

  if (main) {
    main.addEventListener("focusout", function () {
      if (again) { again = false; window.setTimeout(refresh, 0); }
    });
  }

  function setClock(data) {
    if (clock && data && data.time) clock.textContent = data.time;
  }

  if (window.EventSource && main) {
    var events = new EventSource("/events");
    events.addEventListener("open", function () {
      if (liveState) { liveState.textContent = "● live"; liveState.className = "live-state on"; }
    });
    events.addEventListener("error", function () {
      if (liveState) {
        liveState.textContent = "○ reconnecting";
        liveState.className = "live-state off";
      }
    });
    events.addEventListener("hello", function (ev) { setClock(JSON.parse(ev.data)); });
    events.addEventListener("clock", function (ev) { setClock(JSON.parse(ev.data)); });
    events.addEventListener("change", function (ev) {
      setClock(JSON.parse(ev.data));
      refresh();
    });
  }

  // --- the shell prompt ----------------------------------------------------------------------
  var form = document.getElementById("shell-form");
  if (form) {
    var input = document.getElementById("line");
    var transcript = document.getElementById("transcript");
    var prompt = document.getElementById("prompt");
    var history = [];
    var position = 0;

    // The same rule as labsim.terminal.output_line_kind: EMS shows errors red, warnings
    // yellow.
    function lineKind(text) {
      if (/^[A-Z][A-Za-z]*-[A-Za-z]+: /.test(text)) return "error";
      if (/^(WARNING: |labsim note: |labsim: )/.test(text)) return "warning";
      return "text";
    }

    function append(promptText, line, output) {
      var entry = document.createElement("div");
      entry.className = "entry";
      var p = document.createElement("span");
      p.className = "prompt";
      p.textContent = promptText;
      var typed = document.createElement("span");
      typed.className = "typed";
      typed.textContent = line;
      entry.appendChild(p);
      entry.appendChild(document.createTextNode(" "));
      entry.appendChild(typed);
      if (output) {
        entry.appendChild(document.createTextNode("\n"));
        var out = document.createElement("span");
        out.className = "output";
        output.split("\n").forEach(function (text, index) {
          if (index > 0) out.appendChild(document.createTextNode("\n"));
          var kind = lineKind(text);
          if (kind === "text") {
            out.appendChild(document.createTextNode(text));
          } else {
            var line = document.createElement("span");
            line.className = kind;
            line.textContent = text;
            out.appendChild(line);
          }
        });
        entry.appendChild(out);
      }
      transcript.appendChild(entry);
      transcript.scrollTop = transcript.scrollHeight;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var line = input.value;
      if (!line.trim()) return;
      history.push(line);
      position = history.length;
      var shown = prompt.textContent;
      input.value = "";
      input.disabled = true;
      form.setAttribute("data-busy", "1");
      var body = new URLSearchParams(new FormData(form));
      body.set("line", line);
      fetch("/shell", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "X-CSRF-Token": csrf,
          "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded"
        },
        body: body.toString()
      }).then(function (response) {
        if (!response.ok) {
          return response.text().then(function (text) {
            var doc = new DOMParser().parseFromString(text, "text/html");
            var reason = doc.getElementById("reason");
            throw new Error("HTTP " + response.status + ": " +
              (reason ? reason.textContent : response.statusText));
          });
        }
        return response.json();
      }).then(function (reply) {
        append(shown, line, reply.output);
        prompt.textContent = reply.prompt;
        form.elements["shell"].value = reply.shell;
      }).catch(function (err) {
        append(shown, line, "labsim console: " + err.message);
      }).then(function () {
        input.disabled = false;
        form.removeAttribute("data-busy");
        input.focus();
      });
    });

    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowUp" && position > 0) {
        position -= 1;
        input.value = history[position];
        ev.preventDefault();
      } else if (ev.key === "ArrowDown" && position < history.length) {
        position += 1;
        input.value = position < history.length ? history[position] : "";
        ev.preventDefault();
      }
    });
  }
})();
