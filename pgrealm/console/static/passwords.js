// Password rules, checked as the user types so a refusal never costs a round trip.
// The server checks the same rules again (pgrealm/services/ds/rules.py, rds/rules.py).

import { h } from "./dom.js";

const KINDS = [
  ["lowercase letters", /[a-z]/],
  ["uppercase letters", /[A-Z]/],
  ["numbers", /[0-9]/],
  ["nonalphanumeric characters", /[^A-Za-z0-9]/],
];

// AWS's rules for a directory's Admin password: [{rule, ok, why}]; `why` says what
// is wrong in plain words when the rule fails.
export function adminPasswordRules(password) {
  const has = KINDS.filter(([, pattern]) => pattern.test(password)).map(([name]) => name);
  const lacks = KINDS.map(([name]) => name).filter((name) => !has.includes(name));
  return [
    lengthRule(password, 64),
    {
      rule: "Characters from 3 of these 4 kinds: lowercase letters, uppercase letters, numbers, nonalphanumeric characters",
      ok: has.length >= 3,
      why: `It has ${has.length} of the 4 kinds of character${has.length ? ` (${has.join(", ")})` : ""}: add ${lacks.join(" or ")}.`,
    },
    {
      rule: "Does not contain the word \"admin\"",
      ok: !password.toLowerCase().includes("admin"),
      why: "It contains the word \"admin\", which AWS does not allow.",
    },
  ];
}

// RDS for PostgreSQL's master password rules.
export function masterPasswordRules(password) {
  const bad = [...new Set([...password].filter((c) => "/@\" ".includes(c) || c < "!" || c > "~"))];
  return [
    lengthRule(password, 128),
    {
      rule: "Printable ASCII characters other than / @ \" and space",
      ok: bad.length === 0,
      why: `It contains ${bad.map((c) => (c === " " ? "a space" : `"${c}"`)).join(", ")}, which RDS does not allow.`,
    },
  ];
}

// Both kinds of password: at least 8 characters, at most `most`.
function lengthRule(password, most) {
  const length = [...password].length;
  return {
    rule: `8 to ${most} characters`,
    ok: length >= 8 && length <= most,
    why: length < 8 ? `It is ${length} characters long: it needs at least 8.`
      : `It is ${length} characters long: at most ${most} are allowed.`,
  };
}

export function firstProblem(rules) {
  const failed = rules.find((r) => !r.ok);
  return failed ? failed.why : "";
}

// The list of rules under a password field, each marked met or not as the user types,
// and one polite live line saying which rule fails (a screen reader hears that line,
// not the whole list again).
export function liveRules(control, rulesOf) {
  const list = h("ul", { class: "rules", id: `${control.id}-rules` });
  const status = h("p", { class: "rule-status", id: `${control.id}-status`, "aria-live": "polite" });
  const box = h("div", { id: `${control.id}-hint`, class: "hint" }, list, status);
  const draw = () => {
    const rules = rulesOf(control.value);
    list.replaceChildren(...rules.map((r) => h("li", { class: r.ok ? "ok" : "bad" },
      h("span", { "aria-hidden": "true" }, r.ok ? "✓ " : "✗ "), r.rule,
      h("span", { class: "sr-only" }, r.ok ? " (met)" : " (not met)"))));
    status.textContent = control.value ? firstProblem(rules) : "";
  };
  control.addEventListener("input", draw);
  draw();
  return box;
}
