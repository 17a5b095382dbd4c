// Directory Service pages: the list, "Set up directory", and a directory's own page
// with its domain controllers, sharing, and users and groups (through ds-data).

import { call, callAll } from "./api.js";
import {
  clearErrors, confirmButton, field, fillSelect, form, h, heading, input, link,
  notice, plainError, poll, radios, select, showFieldError, stateSince, statusText,
  submitting, summary, setText, table, when,
} from "./dom.js";
import { adminPasswordRules, firstProblem, liveRules } from "./passwords.js";

// Stages that change on their own: the pages poll while a directory is in one.
const MOVING = new Set(["Requested", "Creating", "Deleting", "Restoring", "Updating"]);

export function typeLabel(d) {
  const kinds = {
    MicrosoftAD: "AWS Managed Microsoft AD",
    SharedMicrosoftAD: "Shared Microsoft AD",
    SimpleAD: "Simple AD",
    ADConnector: "AD Connector",
  };
  const kind = kinds[d.Type] || d.Type;
  const size = d.Edition || d.Size;
  return size ? `${kind} (${size})` : kind;
}

// "Creating (1m 05s)": while being created the clock runs from the launch, otherwise
// from when the stage began. The reason AWS gives for a stage follows it.
function stageText(d) {
  const start = ["Requested", "Creating"].includes(d.Stage) ? d.LaunchTime : d.StageLastUpdatedDateTime;
  const stage = statusText(d.Stage, MOVING.has(d.Stage), stateSince(d.DirectoryId, d.Stage, start));
  return d.StageReason ? `${stage} — ${d.StageReason}` : stage;
}

export async function describeDirectory(id) {
  const out = await call("ds", "DescribeDirectories", { DirectoryIds: [id] });
  return out.DirectoryDescriptions[0];
}

export function listDirectories() {
  return callAll("ds", "DescribeDirectories", {}, "DirectoryDescriptions");
}

// -- the list ------------------------------------------------------------------------

export async function listPage(main, page) {
  document.title = "Directories · pgrealm console";
  const list = table("directories", "Directories of this account",
    ["Directory ID", "Directory name", "NetBIOS name", "Type", "Stage", "Launched"],
    "No directories yet. Set one up to give RDS a Kerberos realm.");
  main.append(heading("Directories"),
    h("p", { class: "actions" }, link("#/directories/new", "Set up directory", { class: "button", id: "set-up-directory" })),
    list);
  const refresh = async () => {
    const found = await listDirectories();
    list.update(found.map((d) => ({
      key: d.DirectoryId,
      cells: [link(`#/directories/${d.DirectoryId}`, d.DirectoryId), d.Name, d.ShortName,
        typeLabel(d), stageText(d), when(d.LaunchTime)],
    })));
    return found.some((d) => MOVING.has(d.Stage));
  };
  if (await refresh()) poll(page, main, refresh);
}

// -- set up --------------------------------------------------------------------------

// The subnets to offer first: the VPC's default ones, in two different zones.
function twoZones(subnets) {
  const sorted = [...subnets].sort((a, b) =>
    Number(b.DefaultForAz) - Number(a.DefaultForAz) || a.AvailabilityZone.localeCompare(b.AvailabilityZone));
  const first = sorted[0];
  const second = sorted.find((s) => first && s.AvailabilityZone !== first.AvailabilityZone);
  return [first?.SubnetId, second?.SubnetId];
}

function nameTag(resource) {
  const tag = (resource.Tags || []).find((t) => t.Key === "Name");
  return tag ? ` · ${tag.Value}` : "";
}

const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/;
const NETBIOS = /^[^\\/:*?"<>|.\s]{1,15}$/;

export async function createPage(main) {
  document.title = "Set up directory · pgrealm console";
  const [vpcs, subnets] = await Promise.all([
    callAll("ec2", "DescribeVpcs", {}, "Vpcs"),
    callAll("ec2", "DescribeSubnets", {}, "Subnets"),
  ]);
  const name = input("dir-name", { placeholder: "corp.example.com", autocomplete: "off", dataset: { param: "Name", words: "dns name,directory name" } });
  const shortName = input("dir-short-name", { placeholder: "CORP", autocomplete: "off", dataset: { param: "ShortName", words: "netbios,short name" } });
  const description = input("dir-description", { autocomplete: "off", dataset: { param: "Description" } });
  const password = input("dir-password", { type: "password", autocomplete: "new-password", dataset: { param: "Password", words: "password" } });
  const confirm = input("dir-password-confirm", { type: "password", autocomplete: "new-password" });
  const confirmStatus = h("p", { class: "rule-status", id: "dir-password-confirm-hint", "aria-live": "polite" });
  const vpc = select("dir-vpc", vpcs.map((v) => ({
    value: v.VpcId, label: `${v.VpcId} · ${v.CidrBlock}${v.IsDefault ? " · default VPC" : ""}${nameTag(v)}`,
  })), { dataset: { param: "VpcId", words: "vpc" } }, (vpcs.find((v) => v.IsDefault) || vpcs[0])?.VpcId);
  const subnet1 = select("dir-subnet-1", [], { dataset: { param: "SubnetIds", words: "subnet,availability zone" } });
  const subnet2 = select("dir-subnet-2", []);

  const fillSubnets = () => {
    const inVpc = subnets.filter((s) => s.VpcId === vpc.value);
    const options = inVpc.map((s) => ({
      value: s.SubnetId, label: `${s.SubnetId} · ${s.AvailabilityZone} · ${s.CidrBlock}${nameTag(s)}`,
    }));
    const [first, second] = twoZones(inVpc);
    fillSelect(subnet1, options, first);
    fillSelect(subnet2, options, second);
  };
  vpc.addEventListener("change", fillSubnets);
  fillSubnets();

  const checkConfirm = () => {
    confirmStatus.textContent = confirm.value && confirm.value !== password.value
      ? "The two passwords do not match." : "";
  };
  confirm.addEventListener("input", checkConfirm);
  password.addEventListener("input", checkConfirm);

  const setUp = form("directory-form", {},
    h("p", {}, "Directory type: ", h("strong", {}, "AWS Managed Microsoft AD"),
      ", the only type RDS supports for Kerberos authentication."),
    h("fieldset", {}, h("legend", {}, "Directory information"),
      radios("edition", "Edition", [
        { value: "Standard", label: "Standard Edition", id: "dir-edition-standard" },
        { value: "Enterprise", label: "Enterprise Edition", id: "dir-edition-enterprise" },
      ], "Standard"),
      field("Directory DNS name", name, "The fully qualified name, such as corp.example.com. Its upper case is the Kerberos realm."),
      field("Directory NetBIOS name (optional)", shortName, "A short name such as CORP, up to 15 characters."),
      field("Directory description (optional)", description),
      field("Admin password", password, liveRules(password, adminPasswordRules)),
      field("Confirm password", confirm, confirmStatus)),
    h("fieldset", {}, h("legend", {}, "VPC and subnets"),
      field("VPC", vpc, "The directory's domain controllers get addresses in this VPC."),
      field("Subnet for the first domain controller", subnet1),
      field("Subnet for the second domain controller", subnet2, "The two subnets must be in different Availability Zones.")),
    h("p", { class: "hint" }, "Save the Admin password: it cannot be read back later."),
    h("div", { class: "buttons" },
      h("button", { type: "submit", id: "create-directory" }, "Create directory"),
      link("#/directories", "Cancel", { class: "button secondary" })));

  // The checks the API would make, done first, so every problem shows at once.
  const problems = () => {
    const found = [];
    if (!DNS_NAME.test(name.value.trim())) found.push([name, "Enter a DNS name of two labels or more, such as corp.example.com."]);
    if (shortName.value.trim() && !NETBIOS.test(shortName.value.trim())) found.push([shortName, "A NetBIOS name is 1 to 15 characters, without dots, spaces or \\ / : * ? \" < > |."]);
    const weak = firstProblem(adminPasswordRules(password.value));
    if (weak) found.push([password, weak]);
    else if (confirm.value !== password.value) found.push([confirm, "The two passwords do not match."]);
    if (!subnet1.value || !subnet2.value) found.push([subnet1, "This VPC needs two subnets, in different Availability Zones."]);
    else if (subnet1.value === subnet2.value) found.push([subnet2, "Choose two different subnets."]);
    else {
      const zone = (id) => subnets.find((s) => s.SubnetId === id).AvailabilityZone;
      if (zone(subnet1.value) === zone(subnet2.value)) found.push([subnet2, `Both subnets are in ${zone(subnet1.value)}: choose one in another Availability Zone.`]);
    }
    return found;
  };

  setUp.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(setUp);
    const found = problems();
    if (found.length) {
      for (const [control, message] of found) showFieldError(control, message);
      found[0][0].focus();
      return;
    }
    submitting(setUp, "Creating…", async () => {
      const params = {
        Name: name.value.trim(),
        Password: password.value,
        Edition: setUp.elements.edition.value,
        VpcSettings: { VpcId: vpc.value, SubnetIds: [subnet1.value, subnet2.value] },
      };
      if (shortName.value.trim()) params.ShortName = shortName.value.trim();
      if (description.value.trim()) params.Description = description.value.trim();
      const out = await call("ds", "CreateMicrosoftAD", params);
      password.value = confirm.value = "";
      location.hash = `#/directories/${out.DirectoryId}`;
    });
  });
  main.append(heading("Set up directory"), setUp);
}

// -- a directory's page --------------------------------------------------------------

export async function detailPage(main, page, id) {
  document.title = `${id} · pgrealm console`;
  let d = await describeDirectory(id);
  const controllers = table("domain-controllers", "Domain controllers",
    ["Domain controller", "Availability Zone", "IP address", "Subnet", "Status"],
    "No domain controllers yet.");
  const sharing = h("section", { "aria-labelledby": "sharing-title" });
  const data = h("section", { id: "users-and-groups", "aria-labelledby": "data-title" });
  const remove = confirmButton("delete-directory", "Delete directory",
    `Delete directory ${id} and everything in it? This cannot be undone.`, async () => {
      await call("ds", "DeleteDirectory", { DirectoryId: id });
      location.hash = "#/directories";
    });
  main.append(heading(`Directory ${d.Name}`),
    h("p", {}, link("#/directories", "← All directories")),
    summary("directory-summary", [
      ["Directory ID", d.DirectoryId, "directory-id"],
      ["Directory DNS name", d.Name],
      ["NetBIOS name", d.ShortName],
      ["Type", typeLabel(d)],
      ["Stage", stageText(d), "directory-stage"],
      ["DNS addresses", (d.DnsIpAddrs || []).join(", ") || "—", "directory-dns"],
      ["VPC", d.VpcSettings?.VpcId],
      ["Subnets", (d.VpcSettings?.SubnetIds || []).join(", ")],
      ["Security group", d.VpcSettings?.SecurityGroupId],
      ["Launched", when(d.LaunchTime)],
    ]),
    h("section", { "aria-labelledby": "dc-title" }, h("h2", { id: "dc-title" }, "Domain controllers"), controllers),
    data, sharing,
    h("section", { "aria-labelledby": "danger-title" }, h("h2", { id: "danger-title" }, "Delete"), remove));

  let dataShown = false;
  const refresh = async () => {
    try {
      d = await describeDirectory(id);
    } catch (err) {
      if (err.code === "EntityDoesNotExistException" && d.Stage === "Deleting") {
        notice(main, `Directory ${id} has been deleted.`, "status");
        return false;
      }
      throw err;
    }
    setText("directory-stage", stageText(d));
    setText("directory-dns", (d.DnsIpAddrs || []).join(", ") || "—");
    if (d.Type !== "SharedMicrosoftAD" && d.Stage !== "Deleting") {
      const dcs = (await call("ds", "DescribeDomainControllers", { DirectoryId: id })).DomainControllers;
      controllers.update(dcs.map((dc) => ({
        key: dc.DomainControllerId,
        cells: [dc.DomainControllerId, dc.AvailabilityZone, dc.DnsIpAddr, dc.SubnetId,
          dc.Status + (dc.StatusReason ? ` — ${dc.StatusReason}` : "")],
      })));
    }
    const ready = ["Active", "Impaired"].includes(d.Stage);
    if (ready && !dataShown) {
      dataShown = true;
      await showSharing(sharing, d);
      try {
        await showData(data, d);
      } catch (err) { // the rest of the page stands: only this section says it failed
        data.append(h("p", { class: "error", role: "alert" }, plainError(err)));
      }
    } else if (!ready && !dataShown) {
      data.replaceChildren(h("h2", { id: "data-title" }, "Users and groups"),
        h("p", {}, "Users and groups can be managed once the directory is Active."));
    }
    return MOVING.has(d.Stage) || (d.Stage === "Active" && dcsMoving(controllers));
  };
  if (await refresh()) poll(page, main, refresh);
}

// Domain controllers still coming up after the directory turned Active.
function dcsMoving(controllers) {
  return [...controllers.querySelectorAll("tbody tr")]
    .some((tr) => /Creating|Restoring|Updating/.test(tr.lastElementChild.textContent));
}

async function showSharing(box, d) {
  box.replaceChildren(h("h2", { id: "sharing-title" }, "Sharing"));
  if (d.Type === "SharedMicrosoftAD") {
    const owner = d.OwnerDirectoryDescription || {};
    box.append(h("p", {}, `Shared with this account by account ${owner.AccountId} (its directory ${owner.DirectoryId}).`));
    return;
  }
  const shares = table("shared-with", "Accounts this directory is shared with",
    ["Account", "Shared directory ID", "Method", "Status", "Since"],
    "Not shared with any other account.");
  box.append(shares);
  try {
    const found = await callAll("ds", "DescribeSharedDirectories", { OwnerDirectoryId: d.DirectoryId }, "SharedDirectories");
    shares.update(found.map((s) => ({
      key: s.SharedDirectoryId,
      cells: [s.SharedAccountId, s.SharedDirectoryId, s.ShareMethod, s.ShareStatus, when(s.CreatedDateTime)],
    })));
  } catch (err) {
    box.append(h("p", { class: "error", role: "alert" }, plainError(err)));
  }
}

// -- users and groups (ds-data) ------------------------------------------------------

// Accounts every directory has, which are not the people who log in to a database.
const BUILT_IN = new Set(["administrator", "admin", "guest", "krbtgt"]);

// User names sorted, the directory's own accounts after the people.
export function peopleFirst(names) {
  const builtIn = (n) => BUILT_IN.has(n.toLowerCase());
  const sorted = [...names].sort((a, b) => a.localeCompare(b));
  return [...sorted.filter((n) => !builtIn(n)), ...sorted.filter(builtIn)];
}

// A table in a box of its own height that scrolls (a directory has some fifty groups
// of its own); the box is a focusable region so the keyboard can scroll it too.
function scrolling(label, box) {
  return h("div", { class: "scroll", role: "region", "aria-label": label, tabindex: "0" }, box);
}

async function showData(box, d) {
  const id = d.DirectoryId;
  box.replaceChildren(h("h2", { id: "data-title", tabindex: "-1" }, "Users and groups"));
  if (d.Type !== "MicrosoftAD") {
    box.append(h("p", {}, "Users and groups of this directory are managed in its owner's account."));
    return;
  }
  const status = (await call("ds", "DescribeDirectoryDataAccess", { DirectoryId: id })).DataAccessStatus;
  if (status !== "Enabled") {
    const enable = h("button", { type: "button", id: "enable-data-access" }, "Enable data access");
    const holder = h("div", {},
      h("p", {}, `Directory data access is ${status.toLowerCase()}. The console manages users and groups through the Directory Service Data API, which needs it.`),
      enable);
    enable.addEventListener("click", async () => {
      enable.disabled = true;
      try {
        if (status === "Disabled") await call("ds", "EnableDirectoryDataAccess", { DirectoryId: id });
        await showData(box, d);
        box.querySelector("h2").focus(); // the button that had the focus is gone
      } catch (err) {
        enable.disabled = false;
        holder.append(h("p", { class: "error", role: "alert" }, plainError(err)));
      }
    });
    box.append(holder);
    return;
  }
  const users = table("users", "Users", ["User name", "Given name", "Surname", "Enabled"], "No users.", true);
  const groups = table("groups", "Groups", ["Group name", "Type", "Scope"], "No groups.", true);
  const userChoices = [select("reset-user", []), select("member-user", [])];
  const groupChoices = [select("member-group", [])];
  const reload = async () => {
    const [u, g] = await Promise.all([
      callAll("ds-data", "ListUsers", { DirectoryId: id }, "Users"),
      callAll("ds-data", "ListGroups", { DirectoryId: id }, "Groups"),
    ]);
    const byName = new Map(u.map((x) => [x.SAMAccountName, x]));
    const names = peopleFirst([...byName.keys()]);
    users.update(names.map((n) => byName.get(n)).map((x) => ({
      key: x.SAMAccountName, cells: [x.SAMAccountName, x.GivenName, x.Surname, x.Enabled ? "Yes" : "No"],
    })));
    // The directory's own groups (Global scope, such as the ones made here) first.
    const sortedGroups = [...g].sort((a, b) => Number(b.GroupScope === "Global") - Number(a.GroupScope === "Global")
      || a.SAMAccountName.localeCompare(b.SAMAccountName));
    groups.update(sortedGroups.map((x) => ({ key: x.SAMAccountName, cells: [x.SAMAccountName, x.GroupType, x.GroupScope] })));
    const userOptions = names.map((n) => ({ value: n, label: n }));
    // Keep a person chosen, but move off a built-in account (chosen only because it
    // was first) once a person exists: nobody should reset Admin's password by default.
    for (const s of userChoices) fillSelect(s, userOptions, BUILT_IN.has(s.value.toLowerCase()) ? names[0] : undefined);
    fillSelect(groupChoices[0], sortedGroups.map((x) => ({ value: x.SAMAccountName, label: x.SAMAccountName })));
  };
  box.append(h("div", { class: "columns" }, scrolling("Users", users), scrolling("Groups", groups)),
    h("div", { class: "cards" },
      createUserForm(id, reload), resetPasswordForm(id, userChoices[0]),
      createGroupForm(id, reload), addMemberForm(id, userChoices[1], groupChoices[0], reload)));
  await reload();
}

// A small form in a card: its title, fields, a submit button and a live line that
// says what the last submit did.
function card(id, title, submitLabel, fields, work) {
  const done = h("p", { class: "done", role: "status", id: `${id}-done` });
  const el = form(id, { class: "card", "aria-labelledby": `${id}-title` },
    h("h3", { id: `${id}-title` }, title), ...fields,
    h("button", { type: "submit", id: `${id}-submit` }, submitLabel), done);
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    done.textContent = "";
    submitting(el, "Working…", async () => {
      done.textContent = await work();
    });
  });
  return el;
}

function createUserForm(directoryId, reload) {
  const name = input("new-user-name", { autocomplete: "off", dataset: { param: "SAMAccountName", words: "user name,user,account name" } });
  const given = input("new-user-given-name", { autocomplete: "off", dataset: { param: "GivenName" } });
  const surname = input("new-user-surname", { autocomplete: "off", dataset: { param: "Surname" } });
  const password = input("new-user-password", { type: "password", autocomplete: "new-password", dataset: { words: "password" } });
  return card("create-user", "Create a user", "Create user", [
    field("User name", name, "The sAMAccountName, such as alice."),
    field("Given name (optional)", given),
    field("Surname (optional)", surname),
    field("Password", password, "Active Directory keeps a user without a password disabled: set one so the user can sign in."),
  ], async () => {
    const user = name.value.trim();
    if (!user) throw Object.assign(new Error("Enter a user name."), { field: name.id });
    const params = { DirectoryId: directoryId, SAMAccountName: user };
    if (given.value.trim()) params.GivenName = given.value.trim();
    if (surname.value.trim()) params.Surname = surname.value.trim();
    await call("ds-data", "CreateUser", params);
    try {
      if (password.value) await call("ds", "ResetUserPassword", { DirectoryId: directoryId, UserName: user, NewPassword: password.value });
    } catch (err) {
      await reload();
      // The user exists now: the error belongs to the password alone.
      throw Object.assign(new Error(`User ${user} was created, but its password was refused: ${plainError(err)}`), { field: password.id });
    } finally {
      password.value = "";
    }
    name.value = given.value = surname.value = "";
    await reload();
    return `User ${user} created.`;
  });
}

function resetPasswordForm(directoryId, user) {
  user.dataset.param = "UserName";
  user.dataset.words = "user";
  const password = input("reset-password", { type: "password", autocomplete: "new-password", dataset: { param: "NewPassword", words: "password" } });
  return card("reset-user-password", "Reset a password", "Reset password", [
    field("User", user), field("New password", password),
  ], async () => {
    try {
      await call("ds", "ResetUserPassword", { DirectoryId: directoryId, UserName: user.value, NewPassword: password.value });
    } finally {
      password.value = "";
    }
    return `The password of ${user.value} was reset; the user is enabled.`;
  });
}

function createGroupForm(directoryId, reload) {
  const name = input("new-group-name", { autocomplete: "off", dataset: { param: "SAMAccountName", words: "group" } });
  return card("create-group", "Create a group", "Create group", [field("Group name", name)], async () => {
    const group = name.value.trim();
    await call("ds-data", "CreateGroup", { DirectoryId: directoryId, SAMAccountName: group });
    name.value = "";
    await reload();
    return `Group ${group} created.`;
  });
}

function addMemberForm(directoryId, user, group, reload) {
  user.dataset.param = "MemberName";
  group.dataset.param = "GroupName";
  group.dataset.words = "group";
  return card("add-member", "Add a user to a group", "Add to group", [
    field("User", user), field("Group", group),
  ], async () => {
    await call("ds-data", "AddGroupMember", { DirectoryId: directoryId, GroupName: group.value, MemberName: user.value });
    await reload();
    return `${user.value} is now a member of ${group.value}.`;
  });
}

// Directories an RDS instance can join: Microsoft AD ones (own or shared) that are Active.
export async function joinableDirectories() {
  const found = await listDirectories();
  return found.filter((d) => ["MicrosoftAD", "SharedMicrosoftAD"].includes(d.Type) && d.Stage === "Active");
}
