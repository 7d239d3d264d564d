// cited: the ask form streams its answer from POST /ask/stream (server-sent events), the search
// form calls POST /search; the article view scrolls to the citation.
// Every text from the API is set with textContent (never parsed as HTML).
"use strict";

(function () {
  const OPTIONAL_FIELDS = ["published_from", "published_to", "as_of", "source", "author", "mode"];

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** The article view of `articleId`, scrolled to text[start:end). */
  function readUrl(articleId, start, end, extra) {
    const path = encodeURIComponent(String(articleId));  // ids never hold "/" (indexer/ids.py)
    const params = new URLSearchParams({ start: String(start), end: String(end) });
    for (const [name, value] of Object.entries(extra || {})) {
      if (Number.isInteger(value)) params.set(name, String(value));
    }
    return "/read/" + path + "?" + params.toString();
  }

  function formatMs(value) {
    return value >= 100 ? Math.round(value) + " ms" : value.toFixed(1) + " ms";
  }

  /** "retrieval 12 ms · answer 230 ms", with every stage in the title. */
  function timingsLine(timings) {
    if (!timings || typeof timings !== "object") return null;
    let retrieval = 0;
    const parts = [];
    for (const [name, ms] of Object.entries(timings)) {
      if (typeof ms !== "number") continue;
      parts.push(name + " " + formatMs(ms));
      if (name !== "answer" && name !== "total") retrieval += ms;
    }
    let text = "retrieval " + formatMs(retrieval);
    if (typeof timings.answer === "number") text += " · answer " + formatMs(timings.answer);
    return el("p", { class: "timings", title: parts.join(", "), text: text });
  }

  /** "As of 2022-06-16 23:59 UTC · period “last week” (2022-06-06 – 2022-06-12)". */
  function timeLine(time) {
    if (!time || typeof time.as_of !== "string") return null;
    const when = time.as_of.replace("T", " ").replace(/:\d\d\+00:00$/, " UTC");
    let text = time.as_of_given ? "As of " + when : "As of now (" + when + ")";
    const w = time.window;
    if (w && w.start && w.end) {
      const last = new Date(Date.parse(w.end) - 1000).toISOString().slice(0, 10);
      text += " · period “" + w.text + "” (" + w.start.slice(0, 10) + " – " + last + ")";
    }
    if (time.freshness && time.freshness.weight > 0) text += " · fresher articles count more";
    return el("p", { class: "time-applied", text: text });
  }

  class ApiError extends Error {}

  function describeError(status, data) {
    let detail = "";
    if (data && typeof data.detail === "string") {
      detail = data.detail;
    } else if (data && Array.isArray(data.detail)) {
      detail = data.detail
        .map(function (item) {
          const where = (item.loc || []).filter((part) => part !== "body").join(".");
          return (where ? where + ": " : "") + (item.msg || "invalid");
        })
        .join("; ");
    }
    const what =
      status >= 500
        ? "The server failed to handle this request"
        : "The server could not accept this request";
    return what + " (HTTP " + status + ")" + (detail ? ": " + detail : ".");
  }

  async function post(path, body, accept) {
    try {
      return await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", accept: accept },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(
        "Could not reach the cited server. Check that it is running, then try again."
      );
    }
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (err) {
      return null;
    }
  }

  function notJson(status) {
    return new ApiError("The server answered with something that is not JSON (HTTP " + status + ").");
  }

  async function postJson(path, body) {
    const response = await post(path, body, "application/json");
    const data = parseJson(await response.text().catch(() => ""));
    if (!response.ok) throw new ApiError(describeError(response.status, data));
    if (data === null || typeof data !== "object") throw notJson(response.status);
    return data;
  }

  /** One server-sent event: its name ("message" unless an `event:` line names it) and data. */
  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    return { name: name, data: data.join("\n") };
  }

  /** Calls `onEvent(name, data)` for each event of the response's stream, until the stream ends
   * or `onEvent` returns true. Network chunks may split an event anywhere (even inside a UTF-8
   * character): the text is buffered until the blank line that ends the event. */
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        buffer += decoder.decode(value, { stream: !done });
        let end;
        while ((end = /\r?\n\r?\n/.exec(buffer)) !== null) {
          const event = parseEvent(buffer.slice(0, end.index));
          buffer = buffer.slice(end.index + end[0].length);
          if (onEvent(event.name, event.data)) return;
        }
        if (done) return;
      }
    } finally {
      reader.cancel().catch(() => {}); // stop the download when we stop early
    }
  }

  /** POST /ask/stream: `onText(text so far)` on each `token` event, then the verified response
   * of the `answer` event (the object POST /ask returns), which is the one to show. */
  async function askStream(body, onText) {
    const response = await post("/ask/stream", body, "text/event-stream");
    if (!response.ok) {
      const data = parseJson(await response.text().catch(() => ""));
      throw new ApiError(describeError(response.status, data));
    }
    let text = "";
    let verified = null;
    try {
      await readEvents(response, function (name, data) {
        if (name === "token") {
          text += data;
          onText(text);
        } else if (name === "answer") {
          verified = parseJson(data);
          if (verified === null || typeof verified !== "object") throw notJson(response.status);
        } else if (name === "error") {
          const error = parseJson(data);
          throw new ApiError(describeError((error && error.status) || 500, error));
        }
        return name === "done";
      });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // The connection broke; an answer that already arrived still holds.
      if (verified === null) {
        throw new ApiError(
          "The connection to the cited server was lost before the answer was complete. " +
            "Please try again."
        );
      }
    }
    if (verified === null) {
      throw new ApiError("The server ended the answer stream without an answer. Please try again.");
    }
    return verified;
  }

  /** "the best sentence scored 0.1" as "The best sentence scored 0.1." */
  function sentence(text) {
    const trimmed = String(text).trim();
    const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?)]$/.test(capital) ? capital : capital + ".";
  }

  function showError(box, message) {
    box.replaceChildren(el("p", { text: message }));
  }

  function setBusy(form, status, message) {
    const button = form.querySelector("button[type=submit]");
    form.setAttribute("aria-busy", message ? "true" : "false");
    if (button) button.disabled = Boolean(message);
    status.textContent = message || "";
  }

  // ------------------------------------------------------------- rendering

  function passageMeta(p) {
    const parts = [];
    if (p.source) parts.push(el("span", { class: "source", text: p.source }));
    if (p.published) parts.push(el("span", { class: "date", text: p.published }));
    if (Array.isArray(p.authors) && p.authors.length) {
      parts.push(el("span", { class: "authors", text: "By " + p.authors.join(", ") }));
    }
    if (typeof p.score === "number") {
      parts.push(el("span", { class: "score", text: "score " + p.score.toFixed(3) }));
    }
    return el("p", { class: "meta" }, parts);
  }

  /** The passage's text, clamped to a few lines when long, with a button to show it all. */
  function passageText(text) {
    const body = el("p", { class: "text", text: text });
    if (text.length <= 320) return [body];
    body.classList.add("clamped");
    const more = el("button", { type: "button", class: "more", "aria-expanded": "false" }, [
      "Show the whole passage",
    ]);
    more.addEventListener("click", function () {
      const open = body.classList.toggle("clamped") === false;
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? "Show less" : "Show the whole passage";
    });
    return [body, more];
  }

  function passageList(passages) {
    return el(
      "ol",
      { class: "passages" },
      passages.map(function (p) {
        const href = readUrl(p.article_id, p.start, p.end);
        return el("li", { class: "passage" }, [
          el("p", { class: "title" }, [el("a", { href: href, text: p.title || p.article_id })]),
          passageMeta(p),
          ...passageText(p.text),
        ]);
      })
    );
  }

  function citationHref(c) {
    return readUrl(c.article_id, c.start, c.end, { sa_start: c.sa_start, sa_end: c.sa_end });
  }

  /** The citations, the one holding the short answer carrying its offsets (sa_start, sa_end). */
  function withShortAnswer(citations, short) {
    return citations.map(function (c) {
      const holds =
        short &&
        short.article_id === c.article_id &&
        c.start <= short.start &&
        short.end <= c.end;
      return holds ? Object.assign({}, c, { sa_start: short.start, sa_end: short.end }) : c;
    });
  }

  /** `text` with the short answer inside citation `c`'s quote in bold (<strong>). */
  function appendWithShort(p, text, c) {
    const at = Number.isInteger(c.sa_start) ? text.indexOf(c.quote) : -1;
    if (at < 0) {
      p.append(text);
      return;
    }
    const from = at + c.sa_start - c.start;
    const to = at + c.sa_end - c.start;
    p.append(text.slice(0, from));
    p.append(el("strong", { class: "short-answer", text: text.slice(from, to) }));
    p.append(text.slice(to));
  }

  /** The answer text with each "[n]" as a link to citation n's sentence. */
  function answerParagraph(answer, citations) {
    const byN = new Map(citations.map((c) => [c.n, c]));
    const p = el("p", { class: "answer-text" });
    const marker = /\[(\d+)\]/g;
    let last = 0;
    let match;
    while ((match = marker.exec(answer)) !== null) {
      const c = byN.get(Number(match[1]));
      if (!c) continue;
      appendWithShort(p, answer.slice(last, match.index), c);
      p.append(
        el("a", {
          class: "marker",
          href: citationHref(c),
          "aria-label": "Source " + c.n + ": " + (c.title || c.article_id),
          text: match[0],
        })
      );
      last = match.index + match[0].length;
    }
    p.append(answer.slice(last));
    return p;
  }

  /** The answer text as it is written, unverified, until the verified answer replaces it. */
  function renderDraft(box, text) {
    let p = box.querySelector(".answer-text.draft");
    if (!p) {
      p = el("p", { class: "answer-text draft" });
      box.replaceChildren(el("h2", { text: "Answer" }), p);
    }
    p.textContent = text;
  }

  function renderAnswer(box, data) {
    const nodes = [];
    if (data.abstained || !data.answer) {
      nodes.push(
        el("div", { class: "abstain" }, [
          el("h2", { text: "The articles don't answer this question" }),
          data.reason ? el("p", { class: "reason", text: sentence(data.reason) }) : null,
        ])
      );
      const passages = data.passages || [];
      nodes.push(el("h3", { text: passages.length ? "Closest passages" : "No passages found" }));
      if (passages.length) nodes.push(passageList(passages));
    } else {
      const citations = withShortAnswer(data.citations || [], data.short_answer);
      nodes.push(el("h2", { text: "Answer" }));
      if (data.short_answer) {
        nodes.push(
          el("p", { class: "short-answer-line" }, [
            "Short answer: ",
            el("strong", { text: data.short_answer.text }),
          ])
        );
      }
      nodes.push(answerParagraph(data.answer, citations));
      if (citations.length) {
        nodes.push(el("h3", { text: citations.length === 1 ? "Source" : "Sources" }));
        nodes.push(
          el(
            "ol",
            { class: "citations" },
            citations.map(function (c) {
              const href = citationHref(c);
              return el("li", { class: "citation", id: "citation-" + c.n }, [
                el("p", { class: "title" }, [
                  el("span", { class: "n", text: "[" + c.n + "]" }),
                  el("a", { href: href, text: c.title || c.article_id }),
                  c.published ? el("span", { class: "date", text: c.published }) : null,
                ]),
                el("blockquote", {}, [
                  el("a", {
                    href: href,
                    class: "quote",
                    "aria-label": "Read the quoted sentence in context: " + c.quote,
                    text: "“" + c.quote + "”",
                  }),
                ]),
              ]);
            })
          )
        );
      }
    }
    nodes.push(timeLine(data.time));
    nodes.push(timingsLine(data.timings_ms));
    box.replaceChildren(...nodes.filter(Boolean));
  }

  function renderSearch(box, data) {
    const results = data.results || [];
    const heading = results.length
      ? results.length + (results.length === 1 ? " passage" : " passages")
      : "No passages match";
    const nodes = [el("h3", { text: heading })];
    if (results.length) nodes.push(passageList(results));
    nodes.push(timeLine(data.time));
    const timings = timingsLine(data.timings_ms);
    if (timings && data.mode) timings.textContent += " · mode " + data.mode;
    nodes.push(timings);
    box.replaceChildren(...nodes.filter(Boolean));
  }

  // ------------------------------------------------------------- the forms

  function rememberInUrl(update) {
    const params = new URLSearchParams(window.location.search);
    update(params);
    const query = params.toString();
    history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  function setupAsk() {
    const form = document.getElementById("ask-form");
    if (!form) return null;
    const input = document.getElementById("question");
    const asOfInput = document.getElementById("ask-as-of");
    const errorBox = document.getElementById("ask-error");
    const status = document.getElementById("ask-status");
    const result = document.getElementById("ask-result");

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const question = input.value.trim();
      errorBox.replaceChildren();
      if (!question) {
        result.replaceChildren();
        showError(errorBox, "Please type a question before asking.");
        input.focus();
        return;
      }
      const body = { question: question };
      const asOf = asOfInput.value.trim();
      if (asOf) body.as_of = asOf;
      setBusy(form, status, "Looking for an answer…");
      try {
        const data = await askStream(body, function (text) {
          if (!result.querySelector(".draft")) {
            setBusy(form, status, "Writing the answer; its citations are checked when it is complete…");
          }
          renderDraft(result, text);
        });
        renderAnswer(result, data);
        rememberInUrl(function (params) {
          params.set("q", question);
          if (asOf) params.set("asof", asOf);
          else params.delete("asof");
        });
      } catch (err) {
        result.replaceChildren();
        showError(errorBox, err instanceof ApiError ? err.message : "Something went wrong: " + err);
      } finally {
        setBusy(form, status, "");
      }
    });
    return form;
  }

  function setupSearch() {
    const form = document.getElementById("search-form");
    if (!form) return null;
    const input = document.getElementById("query");
    const errorBox = document.getElementById("search-error");
    const status = document.getElementById("search-status");
    const result = document.getElementById("search-result");
    const fields = ["k", ...OPTIONAL_FIELDS];

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const query = input.value.trim();
      errorBox.replaceChildren();
      if (!query) {
        result.replaceChildren();
        showError(errorBox, "Please type something to search for.");
        input.focus();
        return;
      }
      const body = { query: query, k: Number(document.getElementById("k").value) || 10 };
      for (const name of OPTIONAL_FIELDS) {
        const value = document.getElementById(name).value.trim();
        if (value) body[name] = value; // only what the user set
      }
      const from = body.published_from;
      const to = body.published_to;
      if (from && to && from > to) {
        showError(errorBox, "“Published from” (" + from + ") is after “Published to” (" + to + ").");
        return;
      }
      setBusy(form, status, "Searching…");
      try {
        const data = await postJson("/search", body);
        renderSearch(result, data);
        rememberInUrl(function (params) {
          params.set("s", query);
          for (const name of fields) {
            const value = document.getElementById(name).value.trim();
            if (value && !(name === "k" && value === "10")) params.set(name, value);
            else params.delete(name);
          }
        });
      } catch (err) {
        result.replaceChildren();
        showError(errorBox, err instanceof ApiError ? err.message : "Something went wrong: " + err);
      } finally {
        setBusy(form, status, "");
      }
    });

    // Restore the filters from the address (back from an article view, or a shared link).
    const params = new URLSearchParams(window.location.search);
    let filtered = false;
    for (const name of fields) {
      const value = params.get(name);
      if (value) {
        document.getElementById(name).value = value;
        filtered = filtered || name !== "k";
      }
    }
    if (filtered) document.getElementById("filters").open = true;
    return form;
  }

  function setupHome() {
    const askForm = setupAsk();
    const searchForm = setupSearch();
    const params = new URLSearchParams(window.location.search);
    if (askForm && params.get("q")) {
      document.getElementById("question").value = params.get("q");
      if (params.get("asof")) document.getElementById("ask-as-of").value = params.get("asof");
      askForm.requestSubmit();
    }
    if (searchForm && params.get("s")) {
      document.getElementById("query").value = params.get("s");
      searchForm.requestSubmit();
    }
  }

  function setupArticle() {
    // Bring the cited passage into view; leave the page at its top when it is already there.
    const cited = document.getElementById("cited");
    if (cited && !window.location.hash) {
      const box = cited.getBoundingClientRect();
      if (box.bottom > window.innerHeight * 0.85 || box.top < 0) {
        cited.scrollIntoView({ block: "center" });
      }
    }
    const back = document.getElementById("back-link");
    if (back && document.referrer) {
      let sameSite = false;
      try {
        sameSite = new URL(document.referrer).origin === window.location.origin;
      } catch (err) {
        sameSite = false;
      }
      if (sameSite && history.length > 1) {
        back.addEventListener("click", function (event) {
          event.preventDefault();
          history.back();
        });
      }
    }
  }

  function start() {
    setupHome();
    setupArticle();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
