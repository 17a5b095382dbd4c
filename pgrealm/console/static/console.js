// The console's entry point: who is signed in, the header, and the #/... routes.
// Each page is a function (main, page, ...parts of the route) in its own module.

import { ApiError, session } from "./api.js";
import { $, field, form, h, heading, input, notice, plainError, startPage, submitting } from "./dom.js";
import * as directories from "./directories.js";
import * as databases from "./databases.js";
import * as iam from "./iam.js";
import * as connect from "./connect.js";

const ROUTES = [
  [/^#\/directories$/, directories.listPage],
  [/^#\/directories\/new$/, directories.createPage],
  [/^#\/directories\/([^/]+)$/, directories.detailPage],
  [/^#\/databases$/, databases.listPage],
  [/^#\/databases\/new$/, databases.createPage],
  [/^#\/databases\/([^/]+)\/connect$/, connect.connectPage],
  [/^#\/databases\/([^/]+)$/, databases.detailPage],
  [/^#\/iam$/, iam.rolesPage],
];
const HOME = "#/directories";

let account = null;

function showAccount() {
  $("#who").hidden = account === null;
  $("#nav").hidden = account === null;
  $("#account").textContent = account || "";
}

// The nav link of the section on screen carries aria-current, for screen readers and CSS.
function markNav() {
  const section = location.hash.split("/")[1] || "";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#/${section}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// What a refused sign-in means, in plain words, beside the field at fault.
function refusal(err, key, secret) {
  const plain = {
    SignatureDoesNotMatch: [secret, `That secret access key is not the one of access key ${key.value.trim()}.`],
    InvalidClientTokenId: [key, "There is no such access key. Use test, or a 12-digit account number."],
    ValidationError: [key.value.trim() ? secret : key, "Enter an access key and its secret."],
  }[err.code];
  if (!plain) return err;
  return Object.assign(new Error(plain[1]), { code: err.code, field: plain[0].id });
}

function signInPage(main) {
  document.title = "Sign in · pgrealm console";
  const key = input("access-key", { autocomplete: "username", required: true });
  const secret = input("secret-key", { type: "password", autocomplete: "current-password", required: true });
  const signIn = form("sign-in", {},
    field("Access key ID", key, "As for the aws CLI: test, or a 12-digit account number."),
    field("Secret access key", secret, "The secret is test."),
    h("button", { type: "submit", id: "sign-in-submit" }, "Sign in"));
  signIn.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(signIn, "Signing in…", async () => {
      let found;
      try {
        found = await session.open(key.value.trim(), secret.value);
      } catch (err) {
        throw refusal(err, key, secret);
      }
      secret.value = "";
      account = found.account;
      showAccount();
      if (!location.hash || location.hash === "#/") location.hash = HOME;
      else route();
    });
  });
  main.append(h("section", { class: "narrow" },
    heading("Sign in to pgrealm"),
    h("p", {}, "The console makes the same signed API calls as the aws CLI, as the account of your access key."),
    signIn));
}

// The route the page has finished drawing, for whoever waits for it (the browser tests).
function drawn(hash) {
  if (hash === undefined) delete document.body.dataset.drawn;
  else document.body.dataset.drawn = hash;
}

async function route() {
  drawn(undefined);
  // Each page draws into a fresh box of its own, so nothing of the last page (its
  // listeners, a late answer to its requests) reaches the new one.
  const main = h("div", { class: "page" });
  $("#main").replaceChildren(main);
  const page = startPage();
  markNav();
  if (account === null) {
    signInPage(main);
  } else {
    const found = ROUTES.map(([pattern, show]) => [location.hash.match(pattern), show])
      .find(([match]) => match);
    if (!found) {
      location.replace(HOME);
      return;
    }
    const [match, show] = found;
    try {
      await show(main, page, ...match.slice(1).map(decodeURIComponent));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        account = null;
        showAccount();
        route();
        return;
      }
      // The page could not be drawn (it does not exist, or the API refused): say why
      // under a heading of its own, with the way back.
      if (page.alive()) {
        const section = location.hash.split("/")[1];
        main.replaceChildren(heading("This page cannot be shown"),
          h("p", {}, h("a", { href: `#/${section}` }, "Back to the list")));
        notice(main, plainError(err));
      }
    }
  }
  // A new page takes the focus at its heading, as a screen reader user expects.
  if (page.alive()) {
    main.querySelector("h1")?.focus();
    drawn(location.hash);
  }
}

async function signOut() {
  try {
    await session.close();
  } finally {
    account = null;
    showAccount();
    // Drop the route without a hashchange, which would render the page a second time.
    history.replaceState(null, "", location.pathname);
    route();
  }
}

async function start() {
  $("#sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  try {
    account = (await session.get()).account;
  } catch {
    account = null;
  }
  showAccount();
  if (account !== null && !location.hash) location.replace(HOME); // its hashchange routes
  else route();
}

start();
