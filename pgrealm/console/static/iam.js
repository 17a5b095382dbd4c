// IAM: the roles of the account, and the seed's step 2 in one click: a role RDS can
// assume, with the AWS managed policy AmazonRDSDirectoryServiceAccess attached.

import { call, callAll } from "./api.js";
import { h, heading, notice, plainError, table, when } from "./dom.js";

export const RDS_ROLE = "rds-directory-service-access-role";
export const POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess";
const TRUST = {
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow",
    Principal: { Service: ["rds.amazonaws.com", "directoryservice.rds.amazonaws.com"] },
    Action: "sts:AssumeRole",
  }],
};

export function listRoles() {
  return callAll("iam", "ListRoles", {}, "Roles");
}

// The RDS role, made if missing and given the policy if it lacks it (so a second
// click, or a role made half-way before, ends in the same place). Its name.
export async function ensureRdsRole() {
  try {
    await call("iam", "CreateRole", {
      RoleName: RDS_ROLE,
      AssumeRolePolicyDocument: JSON.stringify(TRUST),
      Description: "Lets Amazon RDS use AWS Directory Service for Kerberos authentication",
    });
  } catch (err) {
    if (err.code !== "EntityAlreadyExists") throw err;
  }
  await call("iam", "AttachRolePolicy", { RoleName: RDS_ROLE, PolicyArn: POLICY_ARN });
  return RDS_ROLE;
}

// Who may assume a role, from its trust policy (boto3 hands it over parsed).
function trusted(role) {
  let doc = role.AssumeRolePolicyDocument;
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(decodeURIComponent(doc));
    } catch {
      return "—";
    }
  }
  const who = (doc?.Statement || []).flatMap((s) => {
    const p = s.Principal || {};
    return [p.Service, p.AWS].flat().filter(Boolean);
  });
  return who.join(", ") || "—";
}

async function policiesOf(role) {
  const found = await callAll("iam", "ListAttachedRolePolicies", { RoleName: role }, "AttachedPolicies");
  return found.map((p) => p.PolicyName);
}

export async function rolesPage(main) {
  document.title = "IAM roles · pgrealm console";
  const roles = table("roles", "Roles of this account",
    ["Role name", "Trusted entities", "Attached policies", "Created"], "No roles yet.");
  const done = h("p", { class: "done", role: "status", id: "create-rds-role-done" });
  const create = h("button", { type: "button", id: "create-rds-role" }, "Create the RDS role");
  const refresh = async () => {
    const found = await listRoles();
    const policies = await Promise.all(found.map((r) => policiesOf(r.RoleName)));
    roles.update(found.map((r, i) => ({
      key: r.RoleName,
      cells: [r.RoleName, trusted(r), policies[i].join(", ") || "—", when(r.CreateDate)],
    })));
  };
  create.addEventListener("click", async () => {
    create.disabled = true;
    done.textContent = "";
    try {
      const name = await ensureRdsRole();
      await refresh();
      done.textContent = `Role ${name} is ready: RDS can assume it, and AmazonRDSDirectoryServiceAccess is attached.`;
    } catch (err) {
      notice(main, plainError(err));
    } finally {
      create.disabled = false;
    }
  });
  main.append(heading("IAM roles"),
    h("section", { class: "card wide", "aria-labelledby": "rds-role-title" },
      h("h2", { id: "rds-role-title" }, "A role for Amazon RDS"),
      h("p", {}, "RDS calls Directory Service for a DB instance that uses Kerberos authentication. ",
        "It does so as a role that trusts rds.amazonaws.com and directoryservice.rds.amazonaws.com ",
        "and has the AWS managed policy AmazonRDSDirectoryServiceAccess. This button makes ",
        h("code", {}, RDS_ROLE), " so."),
      create, done),
    h("h2", {}, "Roles of this account"),
    roles);
  await refresh();
}
