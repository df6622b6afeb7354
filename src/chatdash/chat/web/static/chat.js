// Progressive enhancement: send without a reload and stream the reply token by token (SSE).
// Without JavaScript the forms post and the page refreshes itself while a reply is written.
(function () {
  "use strict";
  const ask = document.getElementById("ask");
  const list = document.getElementById("messages");
  if (!ask || !list) return;

  function follow(item) {
    const body = item.querySelector(".body");
    const source = new EventSource(ask.action.replace(/\/send$/, "") + "/m/" + item.dataset.id + "/events");
    let text = "";
    source.addEventListener("delta", function (event) {
      text += JSON.parse(event.data).content;
      body.textContent = text;
    });
    source.addEventListener("done", function () {
      source.close();
      window.location.reload();  // the server renders the final Markdown, feedback and retry controls
    });
    source.onerror = function () { source.close(); };
  }

  list.querySelectorAll('li[data-status="streaming"]').forEach(follow);

  ask.addEventListener("submit", async function (event) {
    event.preventDefault();
    const data = new FormData(ask);
    const answer = await fetch(ask.action, { method: "POST", body: data, headers: { "X-Requested-With": "fetch" } });
    if (!answer.ok) { ask.submit(); return; }
    window.location.reload();  // the new turn renders server-side with status streaming, then follows above
  });
})();
