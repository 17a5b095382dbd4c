"""The doctor's checks, in the order a person would look when a Kerberos login fails:

    krb5-conf   the krb5.conf libkrb5 reads exists and names the realm, in its exact case
    dns/dcN     each DC answers DNS on 53/udp and 53/tcp, with the Kerberos/LDAP SRV records
    kdc/dcN     each DC's KDC (88) and kpasswd (464) answer, on UDP and TCP
    clock       this machine's clock is within five minutes of the DCs'
    ticket      the credentials cache holds a valid ticket for the user
    spn         the KDC knows postgres/<endpoint>, with the key version the instance's keytab has
    db-port     the endpoint name resolves and the port accepts connections
    role        the role exists with the principal's exact case and is a member of rds_ad
    login       a real GSSAPI login with psql (pg_stat_gssapi.gss_authenticated)

Every check runs the real tools (``dig``, ``klist``, ``kvno``, ``psql``) in the caller's
environment (its ``KRB5_CONFIG`` and ``KRB5CCNAME``), through the subprocess seam of
:mod:`pgrealm.engines._exec`, so unit tests fake them there. The KDC probes and the
clock come from one AS-REQ per DC (see :mod:`.krbwire`). Network probes wait two seconds:
a stopped DC still completes TCP handshakes (the kernel does), so only an answer counts.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pgrealm.client.doctor import krbwire
from pgrealm.client.doctor._common import Target, explain_krb_error, tool
from pgrealm.client.doctor.database import DatabaseChecks
from pgrealm.client.doctor.report import Evidence, Finding, Report, Severity
from pgrealm.client.krb5conf import Krb5Conf, krb5_conf_paths, parse_krb5_conf

__all__ = ["Doctor", "Target"]

log = logging.getLogger(__name__)

MAX_SKEW = 300.0  # seconds: krb5.conf clockskew and AD's Kerberos policy both default to 5 min
SRV_RECORDS = (
    ("_kerberos._udp", 88),
    ("_kerberos._tcp", 88),
    ("_kpasswd._udp", 464),
    ("_ldap._tcp", 389),
)


@dataclass
class _Facts:
    """What earlier checks learned, for later ones to skip or explain."""

    conf_ok: bool = False
    kdc_times: list[tuple[str, float, float]] = field(default_factory=list)  # dc, KDC, local
    user_unknown: bool = False
    has_ticket: bool = False


class Doctor:
    def __init__(self, target: Target, env: dict[str, str], timeout: float = 2.0) -> None:
        self.t = target
        # Kerberos only: a password from the environment or ~/.pgpass must not log us in.
        self.env = {k: v for k, v in env.items() if k != "PGPASSWORD"}
        # A path that cannot exist (libpq warns about /dev/null, "not a plain file").
        self.env["PGPASSFILE"] = "/proc/self/no-pgpass"
        self.timeout = timeout
        self.facts = _Facts()

    def run(self) -> Report:
        t = self.t
        report = Report(
            f"{t.user} -> {t.instance} ({t.endpoint}:{t.port}), "
            f"directory {t.directory_id} {t.realm}"
        )
        report.findings.append(self.join())
        report.findings.append(self.krb5_conf())
        report.findings.extend(self.dns())
        report.findings.extend(self.kdcs())
        report.findings.append(self.clock())
        report.findings.append(self.ticket())
        report.findings.append(self.spn())
        db = DatabaseChecks(self.t, self.env, self.timeout)
        port = db.db_port()
        report.findings.append(port)
        if port.severity is Severity.PASS:
            report.findings.extend(db.role_and_login())
        else:
            why = "the port is not reachable (see db-port)"
            report.findings += [
                Finding("role", Severity.SKIP, why),
                Finding("login", Severity.SKIP, why),
            ]
        return report

    # -- the instance's join ------------------------------------------------------------------
    def join(self) -> Finding:
        """A failed join names what its VPC lacked (peering, a route, a group rule, an ACL
        entry), checked from the instance's own namespace."""
        t = self.t
        if t.join_problem is None:
            return Finding("join", Severity.PASS, f"{t.instance} is joined to {t.directory_id}")
        return Finding(
            "join",
            Severity.FAIL,
            f"{t.instance} could not join {t.directory_id}",
            (
                Evidence(
                    f"aws rds describe-events --source-identifier {t.instance}", t.join_problem
                ),
            ),
            "RDS joins from the instance's VPC: the directory's DCs must answer it on 53, 88, "
            "389 and 464 (a peering, routes on both sides, the controllers' security group, "
            "network ACLs).",
            "add what the message names, then aws rds modify-db-instance "
            f"--db-instance-identifier {t.instance} --domain {t.directory_id} "
            "--domain-iam-role-name <role> (the join is tried again)",
        )

    # -- krb5.conf --------------------------------------------------------------------------
    def krb5_conf(self) -> Finding:
        t = self.t
        paths = krb5_conf_paths(self.env)
        found = [p for p in paths if p.is_file()]
        fix = (
            f"pgrealm client krb5-conf --db-instance-identifier {t.instance} --output "
            f"~/krb5.conf, then export KRB5_CONFIG=~/krb5.conf"
        )
        where = ":".join(str(p) for p in paths)
        if not found:
            return Finding(
                "krb5-conf",
                Severity.FAIL,
                f"no krb5.conf at {where}",
                cause="libkrb5 cannot find any KDC for the realm without a krb5.conf.",
                fix=fix,
            )
        conf = Krb5Conf()
        for p in found:
            parse_krb5_conf(p.read_text(errors="replace"), into=conf)
        ev = (Evidence(f"cat {' '.join(map(str, found))}", _relevant(conf, t.realm)),)
        if t.realm in conf.realms:
            self.facts.conf_ok = True
            return self._conf_details(conf, where, ev, fix)
        wrong = [r for r in conf.realms if r.lower() == t.realm.lower()]
        if wrong:
            cause = (
                f"it names the realm {wrong[0]!r}, but realm names are case-sensitive and the "
                f"directory's realm is {t.realm!r} (the domain name in upper case), so libkrb5 "
                f"finds no KDC for {t.realm}."
            )
            return Finding(
                "krb5-conf", Severity.FAIL, f"{where} spells the realm {wrong[0]}", ev, cause, fix
            )
        return Finding(
            "krb5-conf",
            Severity.FAIL,
            f"{where} does not name the realm {t.realm}",
            ev,
            f"its [realms] section lists {', '.join(conf.realms) or 'nothing'}; without "
            f"{t.realm} and its KDCs no ticket can be had.",
            fix,
        )

    def _conf_details(
        self, conf: Krb5Conf, where: str, ev: tuple[Evidence, ...], fix: str
    ) -> Finding:
        t = self.t
        kdcs = [k.split(":")[0] for k in conf.realms[t.realm].get("kdc", [])]
        missing = [dc for dc in t.dcs if dc not in kdcs]
        if missing and not conf.flag("dns_lookup_kdc", True):
            return Finding(
                "krb5-conf",
                Severity.WARN,
                f"{where} lacks KDC(s) {', '.join(missing)}",
                ev,
                f"it sends {t.realm} requests to {', '.join(kdcs) or 'no KDC'}, not to every DC "
                f"of the directory ({', '.join(t.dcs)}): a DC outage then stops logins.",
                fix,
            )
        if conf.flag("dns_canonicalize_hostname", True) or conf.flag("rdns", True):
            return Finding(
                "krb5-conf",
                Severity.WARN,
                f"{where} lets libkrb5 rewrite host names",
                ev,
                "with dns_canonicalize_hostname or rdns on, the service principal is built from "
                f"whatever reverse DNS says instead of {t.endpoint}.",
                "set rdns = false and dns_canonicalize_hostname = false in [libdefaults]; " + fix,
            )
        return Finding(
            "krb5-conf", Severity.PASS, f"{where} names {t.realm} with KDCs {', '.join(kdcs)}", ev
        )

    # -- DNS ----------------------------------------------------------------------------------
    def dns(self) -> list[Finding]:
        jobs = [(dc, tcp) for dc in self.t.dcs for tcp in (False, True)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(lambda job: self._dns_on(*job), jobs))
        per_dc: dict[str, list[tuple[list[str], Evidence]]] = {}
        for (dc, _), result in zip(jobs, results, strict=True):
            per_dc.setdefault(dc, []).append(result)
        healthy = [dc for dc, rs in per_dc.items() if not any(p for p, _ in rs)]
        out = []
        for dc, rs in per_dc.items():
            problems = [p for ps, _ in rs for p in ps]
            name = f"dns/{self.t.dc_name(dc)}"
            evidence = tuple(e for _, e in rs)
            if not problems:
                out.append(
                    Finding(
                        name,
                        Severity.PASS,
                        f"{dc} answers on 53/udp and 53/tcp with the SRV records",
                    )
                )
                continue
            severity = Severity.WARN if healthy else Severity.FAIL
            out.append(
                Finding(
                    name,
                    severity,
                    f"{dc}: " + "; ".join(problems),
                    evidence,
                    _dc_cause(dc, healthy, "DNS"),
                    _dc_fix(self.t, dc, "DNS")
                    if any("answer" in p for p in problems)
                    else "the DC's DNS zone lost records Samba registers itself: on the DC, run "
                    "`samba_dnsupdate --verbose` (pgrealm's DC home), then check again.",
                )
            )
        return out

    def _dns_on(self, dc: str, tcp: bool) -> tuple[list[str], Evidence]:
        proto = "tcp" if tcp else "udp"
        wait = f"+time={max(1, round(self.timeout))}"
        base = ["dig", f"@{dc}", wait, "+tries=1", "+noall", "+answer", "+nocookie"]
        base += ["+tcp"] if tcp else ["+notcp"]
        # dig (BIND 9's libisc) hangs under LD_PRELOAD clock shims such as libfaketime,
        # which people use to try clock skew; a DNS answer does not depend on our clock.
        env = {k: v for k, v in self.env.items() if k != "LD_PRELOAD"}
        ping = tool([*base, self.t.domain, "SOA"], env, timeout=5)
        if ping.returncode != 0:
            return [f"no DNS answer on 53/{proto}"], ping
        names = [f"{srv}.{self.t.domain}" for srv, _ in SRV_RECORDS]
        ev = tool([*base, *(x for n in names for x in (n, "SRV"))], env, timeout=10)
        ports: dict[str, set[int]] = {}
        for line in ev.output.splitlines():
            parts = line.split()
            if len(parts) >= 8 and parts[3] == "SRV":
                ports.setdefault(parts[0].rstrip(".").lower(), set()).add(int(parts[6]))
        missing = [
            f"{n} SRV (port {port})"
            for n, (_, port) in zip(names, SRV_RECORDS, strict=True)
            if port not in ports.get(n.lower(), set())
        ]
        return ([f"missing over {proto}: {', '.join(missing)}"] if missing else []), ev

    # -- KDC and kpasswd ----------------------------------------------------------------------
    def kdcs(self) -> list[Finding]:
        jobs = [
            (dc, svc, tcp)
            for dc in self.t.dcs
            for svc in ("kdc", "kpasswd")
            for tcp in (False, True)
        ]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(lambda job: self._probe(*job), jobs))
        per_dc: dict[str, list[tuple[str | None, Evidence]]] = {}
        for (dc, _, _), result in zip(jobs, results, strict=True):
            per_dc.setdefault(dc, []).append(result)
        healthy = [dc for dc, rs in per_dc.items() if all(p is None for p, _ in rs)]
        out = []
        for dc, rs in per_dc.items():
            problems = [p for p, _ in rs if p]
            name = f"kdc/{self.t.dc_name(dc)}"
            if not problems:
                out.append(
                    Finding(
                        name,
                        Severity.PASS,
                        f"{dc} answers Kerberos on 88 and kpasswd on 464, UDP and TCP",
                    )
                )
                continue
            out.append(
                Finding(
                    name,
                    Severity.WARN if healthy else Severity.FAIL,
                    f"{dc}: no answer on {', '.join(problems)}",
                    tuple(e for _, e in rs),
                    _dc_cause(dc, healthy, "Kerberos"),
                    _dc_fix(self.t, dc, "Kerberos"),
                )
            )
        return out

    def _probe(self, dc: str, service: str, tcp: bool) -> tuple[str | None, Evidence]:
        port = 88 if service == "kdc" else 464
        where = f"{port}/{'tcp' if tcp else 'udp'}"
        what = (
            f"AS-REQ for {self.t.user} without pre-authentication"
            if service == "kdc"
            else "kpasswd request with an empty AP-REQ"
        )
        command = f"{what} -> {dc}:{where}"
        started = time.time()
        try:
            if service == "kdc":
                local, _, realm = self.t.user.partition("@")
                reply = krbwire.probe_kdc(dc, local, realm, tcp=tcp, timeout=self.timeout)
            else:
                reply = krbwire.kpasswd_probe(dc, tcp=tcp, timeout=self.timeout)
        except (OSError, ValueError) as exc:
            text = (
                "timed out after %.0f s" % self.timeout
                if isinstance(exc, TimeoutError)
                else str(exc)
            )
            return where, Evidence(command, text)
        if service == "kdc" and reply.stime is not None:
            self.facts.kdc_times.append((dc, reply.stime, (started + time.time()) / 2))
            if reply.error_code == krbwire.KDC_ERR_C_PRINCIPAL_UNKNOWN:
                self.facts.user_unknown = True
        clock = (
            time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(reply.stime)) if reply.stime else "?"
        )
        return None, Evidence(command, f"{reply.message} {reply.error_name} (server clock {clock})")

    # -- clock --------------------------------------------------------------------------------
    def clock(self) -> Finding:
        if not self.facts.kdc_times:
            return Finding("clock", Severity.SKIP, "no KDC answered, so no DC clock to compare")
        dc, kdc, local = max(self.facts.kdc_times, key=lambda x: abs(x[2] - x[1]))
        skew = local - kdc
        ev = tuple(
            Evidence(
                f"KRB-ERROR stime from {d}",
                f"KDC {time.strftime('%H:%M:%S', time.gmtime(k))} UTC, "
                f"here {time.strftime('%H:%M:%S', time.gmtime(loc))} UTC",
            )
            for d, k, loc in self.facts.kdc_times
        )
        said = f"{_duration(abs(skew))} {'ahead of' if skew > 0 else 'behind'} {dc}"
        if abs(skew) < 2:  # the KDC's time has whole seconds
            return Finding(
                "clock", Severity.PASS, "this clock agrees with the DCs (within 2 s)", ev
            )
        if abs(skew) <= MAX_SKEW:
            return Finding("clock", Severity.PASS, f"this clock is {said} (limit 5 min)", ev)
        return Finding(
            "clock",
            Severity.FAIL,
            f"this clock is {said}",
            ev,
            "Kerberos refuses tickets and authenticators more than 5 minutes off the KDC's time "
            "(clockskew in krb5.conf; 'Maximum tolerance for computer clock synchronization' "
            "in AD), so kinit, kvno and the login fail with 'Clock skew too great'.",
            "set this machine's clock right and keep it synchronised: `timedatectl set-ntp true` "
            "or `chronyc makestep`.",
        )

    # -- ticket -------------------------------------------------------------------------------
    def ticket(self) -> Finding:
        t = self.t
        cache = self.env.get("KRB5CCNAME", "the default credentials cache")
        check = tool(["klist", "-s"], self.env, timeout=5)
        listing = tool(["klist"], self.env, timeout=5)
        ev = (check, listing)
        fix = (
            f"kinit {t.user} (or `pgrealm client connect {t.instance} --user {t.user}`, "
            "which asks for the password and runs kinit for you)"
        )
        if check.returncode != 0:
            cause = "psql needs a ticket-granting ticket to get a service ticket for the instance."
            if self.facts.user_unknown:
                cause = (
                    f"the KDC does not know {t.user}: there is no such user in directory "
                    f"{t.directory_id} (names before the @ are case-insensitive, the realm is not)."
                )
                fix = (
                    f"create the user: aws ds-data create-user --directory-id {t.directory_id} ..."
                )
            return Finding("ticket", Severity.FAIL, f"no valid ticket in {cache}", ev, cause, fix)
        principal = _default_principal(listing.output)
        if principal != t.user:
            case = principal is not None and principal.lower() == t.user.lower()
            return Finding(
                "ticket",
                Severity.FAIL,
                f"the ticket in {cache} is for {principal}, not {t.user}",
                ev,
                "Kerberos principals are case-sensitive in the realm part and the server matches "
                "the role name exactly."
                if case
                else "psql presents the cache's principal; the server compares it with the role.",
                fix,
            )
        self.facts.has_ticket = True
        return Finding("ticket", Severity.PASS, f"valid ticket for {t.user} in {cache}", ev)

    # -- service principal -------------------------------------------------------------------
    def spn(self) -> Finding:
        t = self.t
        if not self.facts.has_ticket:
            return Finding("spn", Severity.SKIP, f"{t.spn} not asked for: no ticket (see ticket)")
        ev = tool(["kvno", t.spn], self.env, timeout=10)
        if ev.returncode != 0:
            return Finding(
                "spn",
                Severity.FAIL,
                f"no service ticket for {t.spn}",
                (ev,),
                *explain_krb_error(ev.output, t),
            )
        kvno = _kvno(ev.output)
        keytab = t.instance_keytab
        if keytab is None or not os.access(keytab, os.R_OK):
            note = f"{keytab} is readable only by root" if keytab else "keytab unknown"
            return Finding(
                "spn",
                Severity.PASS,
                f"the KDC knows {t.spn}, kvno {kvno} (not compared with the instance "
                f"keytab: {note})",
                (ev,),
            )
        listing = tool(["klist", "-k", str(keytab)], self.env, timeout=5)
        held = _keytab_kvnos(listing.output, t.spn)
        if kvno in held:
            return Finding(
                "spn",
                Severity.PASS,
                f"the KDC knows {t.spn}, kvno {kvno}, as in the instance keytab",
                (ev, listing),
            )
        return Finding(
            "spn",
            Severity.FAIL,
            f"stale keytab: the KDC issues kvno {kvno} for {t.spn}, the instance keytab holds "
            f"{', '.join(map(str, sorted(held))) or 'no key for it'}",
            (ev, listing),
            "the service account's password changed in AD after the keytab was exported, so "
            "postgres cannot decrypt the tickets the KDC issues now.",
            f"on the pgrealm host, as root: remove {keytab}, then `aws rds reboot-db-instance "
            f"--db-instance-identifier {t.instance}`; the reboot exports a fresh keytab.",
        )


# -- helpers ------------------------------------------------------------------------------------
def _relevant(conf: Krb5Conf, realm: str) -> str:
    lines = [f"default_realm = {conf.default_realm}"]
    for name, rel in conf.realms.items():
        kdcs = ", ".join(rel.get("kdc", []))
        lines.append(f"[realms] {name}: kdc = {kdcs or '(none)'}")
    for host, r in conf.domain_realm.items():
        if r.lower() == realm.lower():
            lines.append(f"[domain_realm] {host} = {r}")
    return "\n".join(lines)


def _dc_cause(dc: str, healthy: list[str], service: str) -> str:
    if healthy:
        return (
            f"{dc} does not serve {service}; clients fall back to {', '.join(healthy)} after "
            "a timeout each time, so logins still work but slowly."
        )
    return f"no DC of the directory serves {service}, so no client can get a ticket."


def _dc_fix(t: Target, dc: str, service: str) -> str:
    return (
        f"check the directory: aws ds describe-directories --directory-ids {t.directory_id} "
        f"(Stage Impaired names DCs not responding); on the pgrealm host, `pgrealm status` "
        f"shows whether {t.directory_id}/{t.dc_name(dc)} runs (a stopped process keeps its "
        f"ports open but answers nothing: `ps -o stat= -p PID` shows T)."
    )


def _default_principal(klist_output: str) -> str | None:
    for line in klist_output.splitlines():
        if line.startswith("Default principal:"):
            return line.split(":", 1)[1].strip()
    return None


def _kvno(kvno_output: str) -> int | None:
    for line in kvno_output.splitlines():
        if "kvno =" in line:
            return int(line.rsplit("=", 1)[1].strip())
    return None


def _keytab_kvnos(listing: str, principal: str) -> set[int]:
    out = set()
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1] == principal:
            out.add(int(parts[0]))
    return out


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
