// The playground streams a run's output as it arrives. Without JavaScript the form is
// a plain POST and the page shows the finished run.
(() => {
  const form = document.getElementById("run-form");
  if (!form || !window.fetch || !window.TextDecoder) return;
  const result = document.getElementById("run-result");
  const output = document.getElementById("run-output");
  const facts = document.getElementById("run-facts");
  const problem = document.getElementById("run-error");

  function showError(message) {
    problem.textContent = message;
    problem.hidden = false;
  }

  function describe(run) {
    const parts = [run.model, `${run.input_tokens ?? "?"} tokens in, ${run.output_tokens ?? "?"} out`, `${run.latency_ms} ms`];
    if (run.finish_reason) parts.push(run.finish_reason);
    if (run.cost !== null) parts.push(`cost ${run.cost}`);
    return parts.join(" · ");
  }

  function handle(name, data) {
    if (name === "chunk") output.textContent += data.text;
    if (name === "done") {
      output.textContent = data.output;
      facts.textContent = describe(data);
      if (data.error) showError(data.error);
      form.dispatchEvent(new CustomEvent("run:done", { detail: data }));
    }
  }

  // Server-sent events from a fetch body: blocks separated by a blank line.
  function dispatch(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length) handle(name, JSON.parse(data.join("\n")));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    result.hidden = false;
    output.textContent = "";
    facts.textContent = "Running…";
    problem.hidden = true;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        facts.textContent = "";
        showError(body && body.error ? body.error.message : `The run failed (${response.status}).`);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      showError("The connection to the registry was lost.");
    } finally {
      button.disabled = false;
    }
  });
})();
