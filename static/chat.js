// The chat page: asks for a name once, keeps it in the username cookie,
// joins the chat over a WebSocket and shows every line the server sends.
// Everything from the server or the user is shown as text, never as HTML.
"use strict";

(function () {
  const COOKIE = "username";
  // The server's rule, so that a bad name is caught before connecting:
  // 1 to 32 characters of letters, digits, spaces, '.', '_' and '-'.
  const NAME_RULE = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} ._-]*$/u;

  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const nameForm = $("name-form");
  const nameInput = $("name-input");
  const nameError = $("name-error");
  const chat = $("chat");
  const log = $("log");
  const sendForm = $("send-form");
  const messageInput = $("message-input");
  let socket = null;

  function readName() {
    for (const part of document.cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === COOKIE) {
        try {
          return decodeURIComponent(part.slice(eq + 1).trim());
        } catch (e) {
          return "";
        }
      }
    }
    return "";
  }

  function storeName(name) {
    document.cookie = COOKIE + "=" + encodeURIComponent(name) +
      "; Path=/; SameSite=Lax; Max-Age=31536000";
  }

  function forgetName() {
    document.cookie = COOKIE + "=; Path=/; SameSite=Lax; Max-Age=0";
  }

  function checkName(name) {
    if (name.length === 0) return "Please enter a name.";
    if ([...name].length > 32) return "A name has at most 32 characters.";
    if (!NAME_RULE.test(name)) {
      return "Use letters, digits, spaces, dots, underscores and dashes only.";
    }
    return "";
  }

  function addLine(text, kind) {
    const li = document.createElement("li");
    li.textContent = text;
    if (kind) li.className = kind;
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function socketURL() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + (document.body.dataset.socketPath || "/");
  }

  function connect(name) {
    nameForm.hidden = true;
    chat.hidden = false;
    $("me").textContent = name;
    setStatus("Connecting…");
    socket = new WebSocket(socketURL());
    socket.addEventListener("open", () => {
      setStatus("Connected", "ok");
      messageInput.focus();
    });
    socket.addEventListener("message", (event) => addLine(String(event.data)));
    socket.addEventListener("close", (event) => {
      socket = null;
      let text = "Connection lost";
      if (event.reason) text += " (" + event.reason + ")";
      setStatus(text + ". Reload the page to reconnect.", "error");
      addLine(text, "notice");
    });
  }

  function askName(message) {
    chat.hidden = true;
    nameForm.hidden = false;
    nameError.textContent = message || "";
    nameInput.focus();
  }

  nameForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    const problem = checkName(name);
    if (problem) {
      nameError.textContent = problem;
      return;
    }
    storeName(name);
    connect(name);
  });

  sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = messageInput.value;
    if (text === "" || socket === null || socket.readyState !== WebSocket.OPEN) return;
    socket.send(text);
    messageInput.value = "";
  });

  $("change-name").addEventListener("click", () => {
    if (socket) socket.close(1000, "changing name");
    forgetName();
    log.replaceChildren();
    askName();
  });

  const name = readName().trim();
  if (name && !checkName(name)) {
    connect(name);
  } else {
    askName(name ? checkName(name) : "");
  }
})();
