// RDS pages: the list, "Create database" (with "Password and Kerberos
// authentication"), and an instance's page: status, network, its directory
// (Modify to join, move or leave), snapshots and restore, delete.

import { call, callAll } from "./api.js";
import {
  checkbox, clearErrors, confirmButton, field, fillSelect, form, h, heading, input, link,
  notice, plainError, poll, radios, select, setText, showFieldError, stateSince, statusText,
  submitting, summary, table, when,
} from "./dom.js";
import { joinableDirectories } from "./directories.js";
import { RDS_ROLE, ensureRdsRole, listRoles } from "./iam.js";
import { firstProblem, liveRules, masterPasswordRules } from "./passwords.js";

// Instance statuses that do not change by themselves; any other is polled.
const SETTLED = new Set(["available", "stopped", "failed", "storage-full", "incompatible-parameters",
  "incompatible-restore", "incompatible-network", "inaccessible-encryption-credentials"]);
// Membership statuses on their way somewhere (the pending-* ones wait for a reboot).
const JOINING = new Set(["enabling-kerberos", "disabling-kerberos", "pending-join", "pending-removal"]);

export async function describeInstance(id) {
  const out = await call("rds", "DescribeDBInstances", { DBInstanceIdentifier: id });
  return out.DBInstances[0];
}

function moving(inst) {
  return !SETTLED.has(inst.DBInstanceStatus)
    || (inst.DomainMemberships || []).some((m) => JOINING.has(m.Status));
}

function statusOf(inst) {
  const s = inst.DBInstanceStatus;
  return statusText(s, !SETTLED.has(s), stateSince(inst.DBInstanceIdentifier, s));
}

// "d-1234567890: kerberos-enabled", or "—" when not joined.
function kerberosOf(inst) {
  const found = (inst.DomainMemberships || []).map((m) =>
    `${m.Domain}: ${statusText(m.Status, JOINING.has(m.Status), stateSince(`${inst.DBInstanceIdentifier}/${m.Domain}`, m.Status))}`);
  return found.join("; ") || "—";
}

const endpointOf = (inst) => inst.Endpoint?.Address || "—";

// -- the list ------------------------------------------------------------------------

export async function listPage(main, page) {
  document.title = "Databases · pgrealm console";
  const list = table("databases", "DB instances of this account",
    ["DB identifier", "Status", "Engine", "Class", "Endpoint", "Kerberos authentication"],
    "No databases yet.");
  main.append(heading("Databases"),
    h("p", { class: "actions" }, link("#/databases/new", "Create database", { class: "button", id: "create-database-link" })),
    list);
  const refresh = async () => {
    const found = await callAll("rds", "DescribeDBInstances", {}, "DBInstances");
    list.update(found.map((i) => ({
      key: i.DBInstanceIdentifier,
      cells: [link(`#/databases/${i.DBInstanceIdentifier}`, i.DBInstanceIdentifier), statusOf(i),
        `${i.Engine} ${i.EngineVersion}`, i.DBInstanceClass, endpointOf(i), kerberosOf(i)],
    })));
    return found.some(moving);
  };
  if (await refresh()) poll(page, main, refresh);
}

// -- directory and role choices (create and modify share them) -----------------------

function directoryOptions(found) {
  return found.map((d) => ({ value: d.DirectoryId, label: `${d.Name} (${d.DirectoryId})` }));
}

// The IAM role select and a button that makes the RDS role and chooses it.
function roleChooser(id, roles) {
  const role = select(id, roles.map((r) => ({ value: r.RoleName, label: r.RoleName })),
    { dataset: { param: "DomainIAMRoleName", words: "role" } },
    roles.some((r) => r.RoleName === RDS_ROLE) ? RDS_ROLE : undefined);
  const made = h("span", { class: "done", role: "status" });
  const create = h("button", { type: "button", class: "secondary", id: `${id}-create` }, "Create the RDS role");
  create.addEventListener("click", async () => {
    create.disabled = true;
    try {
      await ensureRdsRole();
      const all = await listRoles();
      fillSelect(role, all.map((r) => ({ value: r.RoleName, label: r.RoleName })), RDS_ROLE);
      made.textContent = `Role ${RDS_ROLE} created and chosen.`;
    } catch (err) {
      showFieldError(role, plainError(err));
    } finally {
      create.disabled = false;
    }
  });
  return [field("IAM role", role, "A role RDS assumes to call Directory Service, with AmazonRDSDirectoryServiceAccess attached."),
    h("div", { class: "inline" }, create, made)];
}

// The instance must sit in the directory's VPC: a DB subnet group named after the
// directory, made from the directory's own two subnets when it does not exist yet.
async function subnetGroupFor(directory) {
  const name = directory.DirectoryId;
  try {
    await call("rds", "DescribeDBSubnetGroups", { DBSubnetGroupName: name });
  } catch (err) {
    if (err.code !== "DBSubnetGroupNotFoundFault") throw err;
    await call("rds", "CreateDBSubnetGroup", {
      DBSubnetGroupName: name,
      DBSubnetGroupDescription: `The subnets of directory ${directory.Name} (${directory.DirectoryId})`,
      SubnetIds: directory.VpcSettings.SubnetIds,
    });
  }
  return name;
}

// -- create --------------------------------------------------------------------------

const IDENTIFIER = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}$/;
const MASTER_USER = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

export async function createPage(main) {
  document.title = "Create database · pgrealm console";
  const [versions, orderable, directories, roles] = await Promise.all([
    callAll("rds", "DescribeDBEngineVersions", { Engine: "postgres" }, "DBEngineVersions"),
    callAll("rds", "DescribeOrderableDBInstanceOptions", { Engine: "postgres" }, "OrderableDBInstanceOptions"),
    joinableDirectories(),
    listRoles(),
  ]);
  const classes = [...new Set(orderable.map((o) => o.DBInstanceClass))];
  const ident = input("db-id", { placeholder: "mydb", autocomplete: "off", dataset: { param: "DBInstanceIdentifier", words: "db instance already exists,identifier" } });
  const engine = select("db-engine", [{ value: "postgres", label: "PostgreSQL" }], { dataset: { param: "Engine" } });
  const version = select("db-version", versions.map((v) => ({ value: v.EngineVersion, label: v.DBEngineVersionDescription || v.EngineVersion })), { dataset: { param: "EngineVersion" } });
  const klass = select("db-class", classes.map((c) => ({ value: c, label: c })), { dataset: { param: "DBInstanceClass" } }, "db.t3.micro");
  const storage = input("db-storage", { type: "number", min: "20", max: "65536", value: "20", dataset: { param: "AllocatedStorage", words: "storage" } });
  const backups = input("db-backups", { type: "number", min: "0", max: "35", value: "1", dataset: { param: "BackupRetentionPeriod", words: "retention" } });
  const master = input("db-master-user", { value: "postgres", autocomplete: "off", dataset: { param: "MasterUsername" } });
  const password = input("db-master-password", { type: "password", autocomplete: "new-password", dataset: { param: "MasterUserPassword", words: "password" } });
  const confirm = input("db-master-password-confirm", { type: "password", autocomplete: "new-password" });
  const directory = select("db-directory", directoryOptions(directories), { dataset: { param: "Domain", words: "domain,directory,subnet" } });
  const kerberos = h("fieldset", { id: "db-kerberos", class: "nested" },
    h("legend", {}, "Kerberos authentication"),
    directories.length ? field("Directory", directory, "The DB instance joins this directory, and goes into its VPC: the console makes a DB subnet group named after the directory, from its two subnets, if there is none yet.")
      : h("p", { class: "error", role: "alert" }, "No directory is Active: set one up under Directories first."),
    ...roleChooser("db-role", roles));
  const create = form("database-form", {},
    h("fieldset", {}, h("legend", {}, "Engine and size"),
      field("DB instance identifier", ident, "Letters, digits and hyphens, starting with a letter; unique in this account."),
      field("Engine", engine), field("Engine version", version),
      field("DB instance class", klass),
      field("Allocated storage (GiB)", storage),
      field("Backup retention period (days)", backups, "0 turns automated backups off.")),
    h("fieldset", {}, h("legend", {}, "Credentials"),
      field("Master username", master),
      field("Master password", password, liveRules(password, masterPasswordRules)),
      field("Confirm master password", confirm)),
    radios("auth", "Database authentication", [
      { value: "password", label: "Password authentication", id: "db-auth-password" },
      { value: "kerberos", label: "Password and Kerberos authentication", id: "db-auth-kerberos" },
    ], "password"),
    kerberos,
    h("div", { class: "buttons" },
      h("button", { type: "submit", id: "create-database" }, "Create database"),
      link("#/databases", "Cancel", { class: "button secondary" })));
  const showKerberos = () => {
    kerberos.hidden = create.elements.auth.value !== "kerberos";
    kerberos.disabled = kerberos.hidden;
  };
  create.addEventListener("change", showKerberos);
  showKerberos();

  const problems = () => {
    const found = [];
    if (!IDENTIFIER.test(ident.value.trim()) || ident.value.trim().endsWith("-")) found.push([ident, "Start with a letter; use only letters, digits and single hyphens; end with a letter or digit (at most 63)."]);
    if (!MASTER_USER.test(master.value.trim())) found.push([master, "Start with a letter; use only letters, digits and underscores (at most 63)."]);
    const weak = firstProblem(masterPasswordRules(password.value));
    if (weak) found.push([password, weak]);
    else if (confirm.value !== password.value) found.push([confirm, "The two passwords do not match."]);
    if (!kerberos.hidden && !directory.value) found.push([directory, "Choose a directory, or choose Password authentication."]);
    if (!kerberos.hidden && !create.elements["db-role"].value) found.push([create.elements["db-role"], "Choose an IAM role, or create the RDS role."]);
    return found;
  };

  create.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(create);
    const found = problems();
    if (found.length) {
      for (const [control, message] of found) showFieldError(control, message);
      found[0][0].focus();
      return;
    }
    submitting(create, "Creating…", async () => {
      const params = {
        DBInstanceIdentifier: ident.value.trim(),
        Engine: engine.value,
        EngineVersion: version.value,
        DBInstanceClass: klass.value,
        AllocatedStorage: Number(storage.value),
        BackupRetentionPeriod: Number(backups.value),
        MasterUsername: master.value.trim(),
        MasterUserPassword: password.value,
      };
      if (!kerberos.hidden) {
        const chosen = directories.find((d) => d.DirectoryId === directory.value);
        // A directory shared with this account has its subnets in its owner's account:
        // the instance then stays in this account's default VPC.
        if (chosen.Type === "MicrosoftAD") params.DBSubnetGroupName = await subnetGroupFor(chosen);
        params.Domain = chosen.DirectoryId;
        params.DomainIAMRoleName = create.elements["db-role"].value;
      }
      const out = await call("rds", "CreateDBInstance", params);
      password.value = confirm.value = "";
      location.hash = `#/databases/${out.DBInstance.DBInstanceIdentifier}`;
    });
  });
  main.append(heading("Create database"), create);
}

// -- an instance's page --------------------------------------------------------------

export async function detailPage(main, page, id) {
  document.title = `${id} · pgrealm console`;
  let inst = await describeInstance(id);
  const [directories, roles] = await Promise.all([joinableDirectories(), listRoles()]);
  const snapshots = table("snapshots", "Snapshots of this instance",
    ["Snapshot", "Status", "Type", "Created"], "No snapshots.");
  const info = () => {
    const m = (inst.DomainMemberships || [])[0] || {};
    return [
      ["Status", statusOf(inst), "db-status"],
      ["Endpoint", endpointOf(inst), "db-endpoint"],
      ["Port", String(inst.Endpoint?.Port || "—"), "db-port"],
      ["Engine", `${inst.Engine} ${inst.EngineVersion}`, "db-engine-version"],
      ["Class", inst.DBInstanceClass, "db-class-shown"],
      ["Master username", inst.MasterUsername, "db-master-shown"],
      ["Availability Zone", inst.AvailabilityZone || "—", "db-zone"],
      ["VPC", inst.DBSubnetGroup?.VpcId || "—", "db-vpc"],
      ["DB subnet group", inst.DBSubnetGroup?.DBSubnetGroupName || "—", "db-subnet-group"],
      ["Security groups", (inst.VpcSecurityGroups || []).map((g) => `${g.VpcSecurityGroupId} (${g.Status})`).join(", ") || "—", "db-security-groups"],
      ["Directory", m.Domain ? `${m.FQDN || ""} (${m.Domain})` : "None: password authentication only", "db-domain"],
      ["Kerberos authentication", m.Status ? statusText(m.Status, JOINING.has(m.Status), stateSince(`${id}/${m.Domain}`, m.Status)) : "—", "db-kerberos-status"],
      ["IAM role for the directory", m.IAMRoleName || "—", "db-domain-role"],
      ["Created", when(inst.InstanceCreateTime), "db-created"],
    ];
  };
  main.append(heading(`Database ${id}`),
    h("p", { class: "actions" }, link("#/databases", "← All databases"), " ",
      link(`#/databases/${id}/connect`, "Connect", { class: "button", id: "connect-link" })),
    summary("db-summary", info()),
    modifySection(id, () => inst, directories, roles),
    snapshotSection(id, () => inst, snapshots),
    h("section", { "aria-labelledby": "db-delete-title" },
      h("h2", { id: "db-delete-title" }, "Delete"),
      h("p", {}, "The instance is deleted without a final snapshot: take one above first to keep its data."),
      confirmButton("delete-database", "Delete database", `Delete DB instance ${id}? This cannot be undone.`, async () => {
        await call("rds", "DeleteDBInstance", { DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true });
        location.hash = "#/databases";
      })));

  const refresh = async () => {
    try {
      inst = await describeInstance(id);
    } catch (err) {
      if (err.code === "DBInstanceNotFoundFault") {
        notice(main, `DB instance ${id} has been deleted.`, "status");
        return false;
      }
      throw err;
    }
    for (const [, value, valueId] of info()) setText(valueId, value);
    const snaps = await callAll("rds", "DescribeDBSnapshots", { DBInstanceIdentifier: id }, "DBSnapshots");
    snapshots.update(snaps.map((s) => ({
      key: s.DBSnapshotIdentifier,
      cells: [s.DBSnapshotIdentifier, s.Status, s.SnapshotType, when(s.SnapshotCreateTime)],
    })));
    fillSelect(document.getElementById("restore-snapshot"),
      snaps.filter((s) => s.Status === "available").map((s) => ({ value: s.DBSnapshotIdentifier, label: s.DBSnapshotIdentifier })));
    return moving(inst) || snaps.some((s) => s.Status !== "available");
  };
  // One polling loop at a time; a change made on this page (a "changed" event) starts
  // it again, quicker, to show the new status at once.
  let polling = false;
  const watch = async (every) => {
    if (polling) return;
    polling = true;
    await poll(page, main, refresh, every);
    polling = false;
  };
  if (await refresh()) watch(2000);
  main.addEventListener("changed", () => watch(1000));
}

function changed(el) {
  el.dispatchEvent(new Event("changed", { bubbles: true }));
}

// "Modify": join or move to a directory, or leave it (ModifyDBInstance), and reboot,
// which a change not applied immediately waits for.
function modifySection(id, current, directories, roles) {
  const joined = ((current().DomainMemberships || [])[0] || {}).Domain;
  const directory = select("modify-directory", directoryOptions(directories), { dataset: { param: "Domain", words: "domain,directory" } }, joined);
  const choices = h("fieldset", { class: "nested" }, h("legend", {}, "Directory"),
    directories.length ? field("Directory", directory) : h("p", {}, "No directory is Active."),
    ...roleChooser("modify-role", roles));
  const applyNow = checkbox("modify-apply-now", "Apply immediately (otherwise the change waits for the next reboot)", true);
  const done = h("p", { class: "done", role: "status", id: "modify-done" });
  const modify = form("modify-form", {},
    radios("domain-action", "Kerberos authentication", [
      { value: "join", label: joined ? "Move to another directory, or join again" : "Join a directory", id: "modify-join" },
      { value: "leave", label: "Leave the directory (password authentication only)", id: "modify-leave" },
    ], "join"),
    choices, applyNow,
    h("div", { class: "buttons" }, h("button", { type: "submit", id: "modify-submit" }, "Modify"), done));
  modify.addEventListener("change", () => {
    choices.disabled = modify.elements["domain-action"].value === "leave";
    choices.hidden = choices.disabled;
  });
  modify.addEventListener("submit", (event) => {
    event.preventDefault();
    done.textContent = "";
    submitting(modify, "Modifying…", async () => {
      const now = modify.elements["modify-apply-now"].checked;
      const params = { DBInstanceIdentifier: id, ApplyImmediately: now };
      if (modify.elements["domain-action"].value === "leave") params.DisableDomain = true;
      else {
        if (!directory.value) throw Object.assign(new Error("Choose a directory."), { field: directory.id });
        params.Domain = directory.value;
        params.DomainIAMRoleName = modify.elements["modify-role"].value;
      }
      const out = await call("rds", "ModifyDBInstance", params);
      const m = (out.DBInstance.DomainMemberships || [])[0];
      done.textContent = m ? `Kerberos authentication: ${m.Status}.` : "The instance no longer uses a directory.";
      changed(modify);
    });
  });
  const reboot = h("button", { type: "button", class: "secondary", id: "reboot-database" }, "Reboot");
  const rebooted = h("span", { class: "done", role: "status" });
  reboot.addEventListener("click", async () => {
    reboot.disabled = true;
    try {
      await call("rds", "RebootDBInstance", { DBInstanceIdentifier: id });
      rebooted.textContent = "Rebooting.";
      changed(reboot);
    } catch (err) {
      rebooted.textContent = plainError(err);
    } finally {
      reboot.disabled = false;
    }
  });
  return h("section", { "aria-labelledby": "modify-title" },
    h("h2", { id: "modify-title" }, "Modify: directory"), modify,
    h("p", { class: "inline" }, reboot, rebooted));
}

function snapshotStamp() {
  return new Date().toISOString().slice(0, 16).replace(/[-:T]/g, "");
}

// Snapshots: take one, and restore one into a new instance.
function snapshotSection(id, current, snapshots) {
  const name = input("snapshot-id", { value: `${id}-${snapshotStamp()}`, autocomplete: "off", dataset: { param: "DBSnapshotIdentifier", words: "snapshot" } });
  const taken = h("p", { class: "done", role: "status" });
  const take = form("snapshot-form", { class: "card" }, h("h3", {}, "Take a snapshot"),
    field("Snapshot identifier", name), h("button", { type: "submit", id: "take-snapshot" }, "Take snapshot"), taken);
  take.addEventListener("submit", (event) => {
    event.preventDefault();
    taken.textContent = "";
    submitting(take, "Taking…", async () => {
      await call("rds", "CreateDBSnapshot", { DBInstanceIdentifier: id, DBSnapshotIdentifier: name.value.trim() });
      taken.textContent = `Snapshot ${name.value.trim()} is being taken.`;
      name.value = `${id}-${snapshotStamp()}-2`;
      changed(take);
    });
  });
  const source = select("restore-snapshot", [], { dataset: { param: "DBSnapshotIdentifier", words: "snapshot" } });
  const target = input("restore-id", { autocomplete: "off", dataset: { param: "DBInstanceIdentifier", words: "db instance already exists,identifier" } });
  const restore = form("restore-form", { class: "card" }, h("h3", {}, "Restore to a new instance"),
    field("Snapshot", source),
    field("New DB instance identifier", target, "The new instance gets this instance's subnet group, and its directory if it has one."),
    h("button", { type: "submit", id: "restore-snapshot-submit" }, "Restore"));
  restore.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(restore, "Restoring…", async () => {
      if (!source.value) throw Object.assign(new Error("Take a snapshot first: none is available."), { field: source.id });
      const inst = current();
      const params = { DBInstanceIdentifier: target.value.trim(), DBSnapshotIdentifier: source.value };
      const group = inst.DBSubnetGroup?.DBSubnetGroupName;
      if (group && group !== "default") params.DBSubnetGroupName = group;
      const m = (inst.DomainMemberships || [])[0];
      if (m && m.Domain) Object.assign(params, { Domain: m.Domain, DomainIAMRoleName: m.IAMRoleName });
      const out = await call("rds", "RestoreDBInstanceFromDBSnapshot", params);
      location.hash = `#/databases/${out.DBInstance.DBInstanceIdentifier}`;
    });
  });
  return h("section", { "aria-labelledby": "snapshots-title" },
    h("h2", { id: "snapshots-title" }, "Snapshots"), snapshots,
    h("div", { class: "cards" }, take, restore));
}
