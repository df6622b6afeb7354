// chatdash's own few lines of script (no build step, nothing fetched): Enter sends, Copy buttons, the
// chat menu on a phone, a message's edit box. Loaded in <head> without defer so that the "js" class is set before the page
// shows (the CSS hides what needs the script without it); every handler is delegated to the document,
// so the parts htmx swaps in work without being set up again.
"use strict";
document.documentElement.classList.add("js");

// Enter sends the message (the composer's, or an edited one's); Shift+Enter breaks the line; typing
// through an input method is left alone.
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  if (!(box instanceof HTMLTextAreaElement) || !box.form || !box.form.matches(".ask, .edit")) return;
  event.preventDefault();
  const send = box.form.querySelector("button:not([type=button])");
  if (send && send.disabled) return; // a reply is being written: Send is off, so is Enter
  box.form.requestSubmit(send); // runs the form's checks, then htmx (or a plain post) sends it
});

// Copy: a reply copies its Markdown as written, a code block its code.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // plain HTTP on another host than localhost has no clipboard API: the old way still works there
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  let text = "";
  if (button.dataset.copy === "code") {
    text = button.parentElement.querySelector("pre").textContent;
  } else {
    const source = button.closest("li").querySelector("template.source");
    text = source ? source.content.textContent : "";
  }
  const said = (label) => {
    button.textContent = label;
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  };
  copyText(text).then(() => said("Copied"), () => said("Copy failed"));
});

// The chat list's button (shown on narrow screens) opens and closes it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("nav.chats button.menu");
  if (!button) return;
  const open = button.closest("nav").classList.toggle("open");
  button.setAttribute("aria-expanded", String(open));
});

// Edit: the box opens on the message's text with the cursor at its end; Cancel or Escape closes it and
// puts the text back as it was sent.
document.addEventListener("toggle", (event) => {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.matches("details.edit") || !details.open) return;
  const box = details.querySelector("textarea");
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}, true); // toggle does not bubble

function closeEdit(form) {
  form.reset();
  form.querySelector(".note").replaceChildren();
  const details = form.closest("details.edit");
  details.open = false;
  details.querySelector("summary").focus();
}

document.addEventListener("click", (event) => {
  const cancel = event.target.closest("form.edit button.cancel");
  if (cancel) closeEdit(cancel.form);
});

document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (event.key === "Escape" && box instanceof HTMLTextAreaElement && box.form && box.form.matches(".edit")) {
    closeEdit(box.form);
  }
});
