// The Connect panel of a DB instance: the seed's steps 6 and 7 for a chosen directory
// user. The krb5.conf to download, the CREATE USER statement, the kinit and psql
// commands ready to copy, and `pgrealm client doctor` rendered as a list of checks.

import { callAll, krb5ConfUrl, runDoctor } from "./api.js";
import { copyBlock, field, h, heading, input, link, plainError, select, setText } from "./dom.js";
import { describeInstance } from "./databases.js";
import { peopleFirst } from "./directories.js";


// A word for a POSIX shell: as it is when it is plain, in double quotes when nothing in
// it is special there (as the RDS guide writes conninfo), else in single quotes.
function shellWord(text) {
  if (/^[A-Za-z0-9._@%+=:,\/-]+$/.test(text)) return text;
  if (!/[$`\\"!]/.test(text)) return `"${text}"`;
  return `'${text.replace(/'/g, "'\\''")}'`;
}

// A value in a libpq connection string: quoted when it has spaces or quotes.
function conninfoValue(text) {
  return /^[^\s'\\]+$/.test(text) ? text : `'${text.replace(/[\\']/g, "\\$&")}'`;
}

const sqlName = (text) => `"${text.replace(/"/g, '""')}"`;

function conninfo(inst, who) {
  return [`host=${inst.Endpoint.Address}`, `port=${inst.Endpoint.Port}`,
    `dbname=${conninfoValue(inst.DBName || "postgres")}`, `user=${conninfoValue(who)}`].join(" ");
}

// The master user's psql: it asks for the master password itself (never on a command line).
const masterPsql = (inst) => `psql ${shellWord(conninfo(inst, inst.MasterUsername))}`;

// The statement and commands for `user` (a sAMAccountName) on this instance.
function commands(inst, realm, user) {
  const principal = `${user}@${realm}`;
  return {
    sql: `CREATE USER ${sqlName(principal)} WITH LOGIN;\nGRANT rds_ad TO ${sqlName(principal)};`,
    kinit: `KRB5_CONFIG=./krb5.conf kinit ${shellWord(principal)}`,
    psql: `KRB5_CONFIG=./krb5.conf psql ${shellWord(conninfo(inst, principal))}`,
  };
}

// The directory's users, or null when they cannot be listed (data access is off, or
// the directory is shared from another account): a text box is offered then.
async function directoryUsers(directoryId) {
  try {
    const users = await callAll("ds-data", "ListUsers", { DirectoryId: directoryId }, "Users");
    return peopleFirst(users.map((u) => u.SAMAccountName).filter(Boolean));
  } catch {
    return null;
  }
}

function step(number, title, ...content) {
  return h("section", { class: "step", "aria-labelledby": `step-${number}` },
    h("h2", { id: `step-${number}` }, `${number}. ${title}`), ...content);
}

export async function connectPage(main, page, id) {
  document.title = `Connect to ${id} · pgrealm console`;
  const inst = await describeInstance(id);
  const member = (inst.DomainMemberships || [])[0];
  main.append(heading(`Connect to ${id}`),
    h("p", {}, link(`#/databases/${id}`, `← Database ${id}`)));
  if (!inst.Endpoint?.Address) {
    main.append(h("p", { role: "status" }, `The instance is ${inst.DBInstanceStatus} and has no endpoint yet. Come back when it is available.`));
    return;
  }
  if (!member || !member.Domain) {
    main.append(h("p", {}, "This instance is not joined to a directory, so only its master user's password works:"),
      copyBlock("master-psql", "the psql command", masterPsql(inst)));
    main.append(h("p", {}, "To log in with Kerberos, join it to a directory with Modify on ", link(`#/databases/${id}`, "its page"), "."));
    return;
  }
  const realm = (member.FQDN || "").toUpperCase();
  const users = await directoryUsers(member.Domain);
  const user = users && users.length
    ? select("connect-user", users.map((u) => ({ value: u, label: u })))
    : input("connect-user", { autocomplete: "off", placeholder: "alice" });
  const first = commands(inst, realm, user.value || "alice");
  const redraw = () => {
    const now = commands(inst, realm, user.value.trim() || "alice");
    setText("create-login-sql", now.sql);
    setText("kinit-command", now.kinit);
    setText("psql-command", now.psql);
  };
  user.addEventListener("input", redraw);
  user.addEventListener("change", redraw);

  main.append(
    h("p", {}, `Endpoint ${inst.Endpoint.Address}, port ${inst.Endpoint.Port}; Kerberos realm ${realm}; `,
      `Kerberos authentication ${member.Status}.`),
    field("Directory user", user, users ? "The user who logs in: the commands below follow your choice."
      : "The directory's users cannot be listed here (is its data access enabled?): type a user name."),
    step(1, "Download krb5.conf",
      h("p", {}, "It names the directory's realm, its domain controllers, and this endpoint. Save it where you will run the commands."),
      h("a", { href: krb5ConfUrl(id), download: "krb5.conf", id: "krb5-download", class: "button" }, "Download krb5.conf")),
    step(2, "Create the user's login",
      h("p", {}, `As the master user (${inst.MasterUsername}), run this in the database, as the seed's step 6 says. This psql asks for the master password:`),
      copyBlock("master-psql", "the master user's psql command", masterPsql(inst)),
      copyBlock("create-login-sql", "the CREATE USER statement", first.sql)),
    step(3, "Get a Kerberos ticket",
      h("p", {}, "kinit asks for the user's directory password."),
      copyBlock("kinit-command", "the kinit command", first.kinit)),
    step(4, "Connect with psql",
      h("p", {}, "psql gets a service ticket for the instance and logs in with GSSAPI: no password."),
      copyBlock("psql-command", "the psql command", first.psql)),
    doctorSection(id, user));
}

// -- the doctor ----------------------------------------------------------------------

const SEVERITY = { pass: "Pass", skip: "Skipped", warn: "Warning", fail: "Failed" };

function finding(f) {
  return h("li", { class: `finding ${f.severity}` },
    h("span", { class: `severity ${f.severity}` }, SEVERITY[f.severity] || f.severity),
    " ", h("strong", { class: "finding-check" }, f.check), ": ", h("span", { class: "finding-summary" }, f.summary),
    f.cause ? h("p", { class: "cause" }, h("strong", {}, "Cause: "), f.cause) : null,
    f.fix ? h("p", { class: "fix" }, h("strong", {}, "Fix: "), f.fix) : null,
    (f.evidence || []).length ? h("details", {}, h("summary", {}, `Evidence (${f.evidence.length})`),
      f.evidence.map((e) => h("pre", {}, `$ ${e.command}\n${e.output}`))) : null);
}

function doctorSection(id, user) {
  const result = h("div", { id: "doctor-result", "aria-live": "polite" });
  const run = h("button", { type: "button", id: "run-doctor" }, "Run the doctor");
  run.addEventListener("click", async () => {
    run.disabled = true;
    result.replaceChildren(h("p", { role: "status" }, "Running the checks…"));
    try {
      const report = await runDoctor(id, user.value.trim());
      const verdict = report.ok ? "Every check passed."
        : `${report.findings.filter((f) => f.severity === "fail").length} failed, ${report.findings.filter((f) => f.severity === "warn").length} warned; the first problem is “${report.first_problem}”.`;
      result.replaceChildren(h("p", { class: "subject" }, report.subject),
        h("p", { id: "doctor-verdict" }, verdict),
        h("ol", { class: "findings", id: "doctor-findings" }, report.findings.map(finding)));
    } catch (err) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, plainError(err)));
    } finally {
      run.disabled = false;
    }
  });
  return h("section", { class: "step", "aria-labelledby": "doctor-title" },
    h("h2", { id: "doctor-title" }, "Something wrong? Run the doctor"),
    h("p", {}, "pgrealm client doctor checks, for the chosen user, each link from DNS to the login, and says how to fix what fails. ",
      "It runs on the pgrealm server's machine with this instance's krb5.conf, so it holds no ticket of yours: its ticket checks show what kinit would need."),
    run, result);
}
