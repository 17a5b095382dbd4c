"""The seed's flow entirely through the web console (issue 13), in a real browser.

Debian's chromium, headless at 1366x768, driven by Selenium (tests/fixtures/browser.py),
signs in to the session's stack as an account of its own, creates the role, the
directory, a user and the database with Kerberos authentication, then runs exactly the
kinit and psql commands the Connect panel shows and checks that the login used GSSAPI.
Another account's console must not see any of it, and a wrong secret must not sign in.

Every page is saved as a screenshot (printed at the end); two of them illustrate the
README (docs/console/), refreshed when PGREALM_UPDATE_SCREENSHOTS is set or missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from tests.acceptance.conftest import new_password
from tests.fixtures.browser import chromium, full_page_screenshot, wait_until
from tests.fixtures.stack import ROOT, StackHandle

pytestmark = pytest.mark.acceptance

ACCOUNT = "777777777777"  # this module's own accounts: nothing collides with other tests
OTHER = "888888888888"
DOMAIN = "web.example.com"
REALM = DOMAIN.upper()
INSTANCE = "webdb"
USER = "alice"
ROLE = "rds-directory-service-access-role"  # what "Create the RDS role" makes
DOCS = ROOT / "docs" / "console"


class Console:
    """The console in the browser, reached by the ids its pages give their controls."""

    def __init__(self, driver: webdriver.Chrome, url: str, shots: Path, mult: float) -> None:
        self.driver, self.base, self.shots, self.mult = driver, f"{url}/console/", shots, mult

    # -- finding and doing --------------------------------------------------------------
    def go(self, route: str) -> None:
        self.driver.get(f"{self.base}{route}")
        self.wait(
            f"the page {route or '/'} to be drawn",
            lambda d: d.execute_script("return document.body.dataset.drawn === location.hash"),
        )

    def find(self, ident: str) -> WebElement:
        found: WebElement = self.wait(f"#{ident}", lambda d: _displayed(d, ident))
        return found

    def text(self, ident: str) -> str:
        return str(self.find(ident).text)

    def type(self, ident: str, text: str) -> None:
        field = self.find(ident)
        field.clear()
        field.send_keys(text)

    def click(self, ident: str) -> None:
        self.find(ident).click()

    def choose(self, ident: str, value: str) -> None:
        Select(self.find(ident)).select_by_value(value)

    def main_text(self) -> str:
        return str(self.driver.find_element(By.ID, "main").text)

    def wait(self, what: str, probe: Any, timeout: float = 30) -> Any:
        return wait_until(self.driver, what, probe, timeout * self.mult)

    def wait_text(self, ident: str, needle: str, timeout: float = 30) -> str:
        """The text of #ident once it contains ``needle``."""

        def shown(d: webdriver.Chrome) -> str | None:
            found = _displayed(d, ident)
            text = str(found.text) if found else ""
            return text if needle in text else None

        text: str = self.wait(f"{needle!r} in #{ident}", shown, timeout)
        return text

    def wait_hash(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        match: re.Match[str] = self.wait(
            f"the page {pattern}",
            lambda d: re.fullmatch(pattern, d.execute_script("return location.hash")),
            timeout,
        )
        return match

    def alerts(self) -> list[str]:
        found = self.driver.find_elements(By.CSS_SELECTOR, "[role=alert]")
        return [str(a.text) for a in found if a.is_displayed() and a.text]

    # -- whole pages --------------------------------------------------------------------
    def sign_in(self, key: str, secret: str = "test") -> None:
        self.sign_out()
        self.type("access-key", key)
        self.type("secret-key", secret)
        self.click("sign-in-submit")

    def sign_out(self) -> None:
        """Signed out, whoever was signed in before (if anyone)."""
        self.go("")
        if self.driver.find_element(By.ID, "who").is_displayed():
            self.click("sign-out")
        self.find("access-key")

    def shot(self, name: str) -> Path:
        """The whole page, saved; and a check that every control on it has a label."""
        path = self.shots / f"{name}.png"
        full_page_screenshot(self.driver, path)
        assert not self.unlabelled(), f"controls without a label on {name}: {self.unlabelled()}"
        return path

    def unlabelled(self) -> list[str]:
        found: list[str] = self.driver.execute_script(
            """return [...document.querySelectorAll("input, select, textarea, button")]
              .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length)
                && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")
                && !(el.tagName === "BUTTON" && el.textContent.trim()))
              .map((el) => el.outerHTML.slice(0, 120));"""
        )
        return found

    def script_errors(self) -> list[str]:
        """Uncaught errors of the page's scripts (the network's 4xx are expected)."""
        logs: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [str(e["message"]) for e in logs if e.get("source") == "javascript"]


def _displayed(driver: webdriver.Chrome, ident: str) -> WebElement | None:
    try:
        found = driver.find_element(By.ID, ident)
        return found if found.is_displayed() else None
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def run_shown(
    command: str, cwd: Path, env: dict[str, str], stdin: str
) -> subprocess.CompletedProcess[str]:
    """A command exactly as the console shows it, run by a shell in ``cwd``."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("console-screenshots")
    yield folder
    print(f"console screenshots: {folder}")


@pytest.fixture(scope="module")
def console(stack: StackHandle, shots: Path) -> Iterator[Console]:
    with chromium() as driver:
        page = Console(driver, stack.url, shots, stack.timeout_mult)
        yield page
        assert not page.script_errors(), page.script_errors()


@pytest.fixture(scope="module")
def made(stack: StackHandle) -> Iterator[dict[str, Any]]:
    """What the flow made through the console; whatever is left of it at the end (a test
    failed before deleting it) is deleted with boto3."""
    found: dict[str, Any] = {}
    yield found
    rds, ds = stack.client("rds", account=ACCOUNT), stack.client("ds", account=ACCOUNT)

    def instance_gone() -> bool:
        try:
            rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)
        except rds.exceptions.DBInstanceNotFoundFault:
            return True
        return False

    if not instance_gone():
        try:
            rds.delete_db_instance(DBInstanceIdentifier=INSTANCE, SkipFinalSnapshot=True)
        except rds.exceptions.InvalidDBInstanceStateFault:
            pass  # already being deleted
        stack.wait("the instance to be deleted", instance_gone, 300)
    directory_id = found.get("directory")
    if directory_id is None:
        return
    directories = ds.describe_directories()["DirectoryDescriptions"]
    if any(d["DirectoryId"] == directory_id and d["Stage"] != "Deleting" for d in directories):
        ds.delete_directory(DirectoryId=directory_id)
    with contextlib.suppress(rds.exceptions.DBSubnetGroupNotFoundFault):
        rds.delete_db_subnet_group(DBSubnetGroupName=directory_id)  # the console made it


def test_a_wrong_secret_cannot_sign_in(console: Console) -> None:
    console.sign_in(ACCOUNT, "not-the-secret")
    alerts = console.wait("the refusal", lambda d: console.alerts())
    assert alerts == [f"That secret access key is not the one of access key {ACCOUNT}."]
    assert console.find("secret-key").get_attribute("aria-invalid") == "true"  # beside it
    assert not console.driver.find_element(By.ID, "who").is_displayed()
    console.shot("sign-in-refused")


def test_the_seed_flow_through_the_console(
    stack: StackHandle, console: Console, made: dict[str, Any], tmp_path: Path
) -> None:
    console.sign_in(ACCOUNT)
    assert console.wait_text("account", ACCOUNT) == ACCOUNT

    # Step 2: the role, in one click.
    console.go("#/iam")
    console.click("create-rds-role")
    console.wait_text("create-rds-role-done", ROLE)
    roles = console.wait_text("roles", ROLE)
    assert "AmazonRDSDirectoryServiceAccess" in roles and "rds.amazonaws.com" in roles
    console.shot("iam-roles")

    # Step 1: the directory; the Admin password's rules are checked as it is typed.
    console.go("#/directories")
    console.click("set-up-directory")
    console.type("dir-name", DOMAIN)
    console.type("dir-short-name", "WEB")
    console.type("dir-password", "short")
    assert "needs at least 8" in console.text("dir-password-status")
    console.type("dir-password", "longer but lowercase")
    assert "add uppercase letters or numbers" in console.text("dir-password-status")
    admin_password = new_password()
    console.type("dir-password", admin_password)
    assert console.driver.find_element(By.ID, "dir-password-status").text == ""
    console.type("dir-password-confirm", admin_password + "x")
    assert "do not match" in console.text("dir-password-confirm-hint")
    console.type("dir-password-confirm", admin_password)
    ec2 = stack.client("ec2", account=ACCOUNT)
    defaults = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    by_id = {s["SubnetId"]: s for s in defaults["Subnets"]}
    first, second = (Select(console.find(f"dir-subnet-{n}")).first_selected_option for n in (1, 2))
    chosen = [by_id[str(o.get_attribute("value"))] for o in (first, second)]  # the defaults
    assert chosen[0]["AvailabilityZone"] != chosen[1]["AvailabilityZone"]
    console.shot("directory-set-up")
    console.click("create-directory")
    directory_id = console.wait_hash(r"#/directories/(d-[0-9a-f]+)").group(1)
    made["directory"] = directory_id
    stage = console.text("directory-stage")
    assert re.fullmatch(r"(Requested|Creating) \((\d+m )?\d+s\)", stage), stage
    console.wait_text("directory-stage", "Active", timeout=300)
    assert console.text("directory-id") == directory_id
    assert len(console.text("directory-dns").split(", ")) == 2
    console.wait(
        "both DCs Active", lambda d: console.text("domain-controllers").count("Active") == 2
    )

    # Step 3: a user, through ds-data once data access is enabled; and a group.
    console.click("enable-data-access")
    alice_password = new_password()
    console.type("new-user-name", USER)
    console.type("new-user-password", alice_password)
    console.click("create-user-submit")
    console.wait_text("create-user-done", f"User {USER} created")
    assert USER in console.wait_text("users", USER)
    console.type("new-group-name", "dbusers")
    console.click("create-group-submit")
    console.wait_text("groups", "dbusers")
    console.choose("member-user", USER)
    console.choose("member-group", "dbusers")
    console.click("add-member-submit")
    console.wait_text("add-member-done", f"{USER} is now a member of dbusers")
    directory_shot = console.shot("directory")
    console.go("#/directories")
    assert "Active" in console.wait_text("directories", directory_id)
    console.shot("directories")

    # Step 5: the database, with Password and Kerberos authentication.
    console.go("#/databases")
    console.click("create-database-link")
    console.type("db-id", INSTANCE)
    console.type("db-backups", "0")  # no base backup to wait for
    assert console.find("db-master-user").get_attribute("value") == "postgres"
    master_password = new_password()
    console.type("db-master-password", master_password)
    console.type("db-master-password-confirm", master_password)
    console.click("db-auth-kerberos")
    console.choose("db-directory", directory_id)
    assert Select(console.find("db-role")).first_selected_option.get_attribute("value") == ROLE
    console.shot("database-create")
    console.click("create-database")
    console.wait_hash(rf"#/databases/{INSTANCE}")
    console.wait_text("db-kerberos-status", "kerberos-enabled", timeout=300)
    console.wait_text("db-status", "available", timeout=60)
    endpoint = console.text("db-endpoint")
    assert console.text("db-port") == "5432"
    assert console.text("db-subnet-group") == directory_id  # named after the directory
    vpc = stack.client("ds", account=ACCOUNT).describe_directories(DirectoryIds=[directory_id])
    assert console.text("db-vpc") == vpc["DirectoryDescriptions"][0]["VpcSettings"]["VpcId"]
    console.shot("database")
    console.go("#/databases")
    assert "kerberos-enabled" in console.wait_text("databases", INSTANCE)
    console.shot("databases")

    # Steps 6 and 7, from the Connect panel.
    console.go(f"#/databases/{INSTANCE}/connect")
    console.choose("connect-user", USER)
    principal = f"{USER}@{REALM}"
    sql = console.wait_text("create-login-sql", principal)
    assert sql == f'CREATE USER "{principal}" WITH LOGIN;\nGRANT rds_ad TO "{principal}";'
    kinit_command = console.text("kinit-command")
    psql_command = console.text("psql-command")
    assert kinit_command == f"KRB5_CONFIG=./krb5.conf kinit {principal}"
    assert psql_command == (
        f'KRB5_CONFIG=./krb5.conf psql "host={endpoint} port=5432 dbname=postgres user={principal}"'
    )

    # The login, made by the master user with its password (PGPASSWORD, as a user would).
    master_words = shlex.split(console.text("master-psql"))
    assert master_words[0] == "psql" and "user=postgres" in master_words[1]
    master_env = {"PATH": os.environ["PATH"], "PGPASSWORD": master_password, "PSQLRC": "/dev/null"}
    made_login = subprocess.run(
        master_words, env=master_env, input=sql, capture_output=True, text=True, timeout=60
    )
    assert "CREATE ROLE" in made_login.stdout and "GRANT ROLE" in made_login.stdout, made_login

    # krb5.conf, downloaded with the page's own session.
    href = str(console.find("krb5-download").get_attribute("href"))
    cookie = console.driver.get_cookie("pgrealm_console")
    assert cookie is not None and cookie["httpOnly"]
    request = urllib.request.Request(href, headers={"Cookie": f"pgrealm_console={cookie['value']}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        conf = answer.read().decode()
    assert REALM in conf and endpoint in conf
    (tmp_path / "krb5.conf").write_text(conf)

    # kinit and psql, exactly as shown; kinit reads the password on its stdin.
    env = {
        "PATH": os.environ["PATH"],
        "KRB5CCNAME": f"FILE:{tmp_path}/ccache",
        "PSQLRC": "/dev/null",
    }
    got_ticket = run_shown(kinit_command, tmp_path, env, alice_password + "\n")
    assert got_ticket.returncode == 0, got_ticket.stderr
    query = (
        "\\pset tuples_only on\n\\pset format unaligned\n"
        "SELECT current_user, gss_authenticated FROM pg_stat_gssapi WHERE pid = pg_backend_pid();\n"
    )
    login = run_shown(psql_command, tmp_path, env, query)
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip().splitlines()[-1] == f"{principal}|t", login.stdout

    # The doctor, for the same user, rendered as a list of checks.
    console.click("run-doctor")
    findings = console.wait(
        "the doctor's findings",
        lambda d: d.find_elements(By.CSS_SELECTOR, "#doctor-findings li.finding"),
        timeout=180,
    )
    severities = {str(f.find_element(By.CLASS_NAME, "severity").text) for f in findings}
    assert severities <= {"Pass", "Skipped", "Warning", "Failed"}, severities
    assert "Pass" in severities
    for failed in console.driver.find_elements(By.CSS_SELECTOR, "#doctor-findings li.fail"):
        assert failed.find_elements(By.CLASS_NAME, "fix"), failed.text  # each says its fix
    connect_shot = console.shot("connect")
    made["endpoint"] = endpoint

    for shot, name in ((directory_shot, "directory.png"), (connect_shot, "connect.png")):
        if os.environ.get("PGREALM_UPDATE_SCREENSHOTS") or not (DOCS / name).exists():
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOCS / name)


def test_another_account_sees_none_of_it(console: Console, made: dict[str, Any]) -> None:
    directory_id = made["directory"]
    console.sign_out()
    # Signed in with the keyboard alone: Tab from the page's heading, type, Enter.
    keys = ActionChains(console.driver)
    keys.send_keys(Keys.TAB).perform()
    assert console.driver.switch_to.active_element.get_attribute("id") == "access-key"
    keys.send_keys(OTHER, Keys.TAB, "test", Keys.ENTER).perform()
    console.wait_text("account", OTHER)

    console.go("#/directories")
    console.wait("the list", lambda d: "No directories yet" in console.main_text())
    assert directory_id not in console.main_text()
    console.shot("other-account-directories")
    console.go("#/databases")
    console.wait("the list", lambda d: "No databases yet" in console.main_text())
    assert INSTANCE not in console.main_text()
    console.shot("other-account-databases")
    console.go(f"#/directories/{directory_id}")
    assert any(
        "does not exist" in a for a in console.wait("the refusal", lambda d: console.alerts())
    )
    console.go(f"#/databases/{INSTANCE}/connect")
    assert any(INSTANCE in a for a in console.wait("the refusal", lambda d: console.alerts()))
    console.shot("other-account-connect-refused")
    console.sign_out()


def test_the_database_and_directory_are_deleted_through_the_console(
    console: Console, made: dict[str, Any]
) -> None:
    directory_id = made["directory"]
    console.sign_in(ACCOUNT)
    console.wait_text("account", ACCOUNT)
    console.go(f"#/databases/{INSTANCE}")
    console.click("delete-database")
    console.click("delete-database-yes")
    console.wait_hash(r"#/databases")
    console.wait("the instance to go", lambda d: INSTANCE not in console.main_text(), 300)

    console.go(f"#/directories/{directory_id}")
    console.click("delete-directory")
    console.click("delete-directory-yes")
    console.wait_hash(r"#/directories")
    console.wait("the directory to go", lambda d: directory_id not in console.main_text(), 300)
