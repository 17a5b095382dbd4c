"""AWS Signature Version 4 verification: who signed a request, and was it signed right.

It knows no service. The caller (``api/app.py``, via ``routing.AUTH_FAMILY``) passes the
protocol *family*, because the same failure travels under different codes:

    failure        query (IAM STS RDS)         ec2                         json, rest-json, cbor
    -------------  --------------------------  --------------------------  ------------------------
    no signature   MissingAuthenticationToken  MissingAuthenticationToken  MissingAuthentication-
                                                                           TokenException
    malformed      IncompleteSignature         IncompleteSignature         IncompleteSignature-
                                                                           Exception
    unknown key    InvalidClientTokenId        AuthFailure                 UnrecognizedClient-
                                                                           Exception
    bad signature  SignatureDoesNotMatch       AuthFailure                 InvalidSignatureException
    clock skew     SignatureDoesNotMatch       RequestExpired              InvalidSignatureException
    bad scope      SignatureDoesNotMatch       AuthFailure                 InvalidSignatureException

The algorithm follows
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
Both the ``Authorization`` header and the presigned query form (``X-Amz-Signature``) work.

A bad scope is a credential scope naming a region the aws partition lacks, or a signing
name other than the one the caller says the request is for. The AWS documentation gives
no wording for these; the messages are the ones AWS services send, as SDK bug reports
quote them: "Credential should be scoped to a valid region, not 'x'." and "Credential
should be scoped to correct service: 'ds'." (AWS adds a trailing space; pgrealm does not).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from pgrealm.api import accounts, specs
from pgrealm.api.http import HttpRequest
from pgrealm.services.errors import CommonError

__all__ = ["ALGORITHM", "FAMILIES", "MAX_SKEW", "Identity", "verify"]

log = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
FAMILIES = ("query", "ec2", "json")
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_BAD_TOKEN = "The security token included in the request is invalid."
_EC2_AUTH = "AWS was not able to validate the provided access credentials"

# kind -> family -> (code, status, fixed message or None to use the specific one)
_FAULTS: dict[str, dict[str, tuple[str, int, str | None]]] = {
    "missing": {
        "query": ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
        "ec2": (
            "MissingAuthenticationToken",
            401,
            "The request must contain either a valid (registered) AWS access key ID "
            "or X.509 certificate.",
        ),
        "json": ("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
    },
    "incomplete": {
        "query": ("IncompleteSignature", 400, None),
        "ec2": ("IncompleteSignature", 400, None),
        "json": ("IncompleteSignatureException", 403, None),
    },
    "unknown_key": {
        "query": ("InvalidClientTokenId", 403, _BAD_TOKEN),
        "ec2": ("AuthFailure", 401, _EC2_AUTH),
        "json": ("UnrecognizedClientException", 403, _BAD_TOKEN),
    },
    "bad_signature": {
        "query": ("SignatureDoesNotMatch", 403, None),
        "ec2": ("AuthFailure", 401, _EC2_AUTH),
        "json": ("InvalidSignatureException", 403, None),
    },
    "expired": {
        "query": ("SignatureDoesNotMatch", 403, None),
        "ec2": ("RequestExpired", 400, "Request has expired."),
        "json": ("InvalidSignatureException", 403, None),
    },
    # EC2 says what is wrong with a credential under AuthFailure ("Credential must have
    # exactly 5 slash-delimited elements, ..."), so the specific message goes out there too
    "scope": {
        "query": ("SignatureDoesNotMatch", 403, None),
        "ec2": ("AuthFailure", 401, None),
        "json": ("InvalidSignatureException", 403, None),
    },
}


@dataclass(frozen=True)
class Identity:
    """A verified caller. ``service`` is the signing name from the credential scope."""

    account_id: str
    access_key: str
    region: str
    service: str
    signed_at: datetime
    presigned: bool = False


@dataclass(frozen=True)
class _Signature:
    access_key: str
    scope_date: str  # YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # the request's own timestamp, as sent
    presigned: bool
    expires: int | None = None  # seconds, presigned only

    @property
    def scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/aws4_request"


def verify(
    request: HttpRequest,
    family: str,
    now: datetime | None = None,
    *,
    signing_name: str | None = None,
) -> Identity:
    """Check the request's SigV4 signature; raise ``CommonError`` (in ``family``'s codes).

    With ``signing_name``, the credential scope must name that service.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown protocol family {family!r}; expected one of {FAMILIES}")
    sig = _signature_of(request, family)
    _check_scope(sig, family, signing_name)
    cred = accounts.lookup(sig.access_key)
    if cred is None:
        raise _fail("unknown_key", family, _BAD_TOKEN)
    signed_at = _parse_date(sig.amz_date, family)
    if sig.amz_date[:8] != sig.scope_date:
        raise _fail(
            "bad_signature",
            family,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{sig.scope_date}' != '{sig.amz_date[:8]}', from '{sig.amz_date}'.",
        )
    _check_clock(signed_at, sig, family, now or datetime.now(UTC))
    payload_hash = _payload_hash(request, family)
    key = _signing_key(cred.secret, sig)
    for canonical in _canonical_requests(request, sig, payload_hash):
        expected = _sign(key, _string_to_sign(sig, canonical)).hex()
        if hmac.compare_digest(expected, sig.signature):
            return Identity(
                cred.account_id, cred.access_key, sig.region, sig.service, signed_at, sig.presigned
            )
    log.debug(
        "signature mismatch for %s; canonical request:\n%s", sig.access_key, _redact(canonical)
    )
    raise _fail("bad_signature", family, _MISMATCH)


def _check_scope(sig: _Signature, family: str, signing_name: str | None) -> None:
    # Before the key lookup: a wrong scope is wrong whatever the key, and saying so
    # tells an unknown caller nothing about which keys exist.
    if signing_name is not None and sig.service != signing_name:
        raise _fail(
            "scope", family, f"Credential should be scoped to correct service: '{signing_name}'."
        )
    if sig.region not in specs.known_regions():
        raise _fail(
            "scope", family, f"Credential should be scoped to a valid region, not '{sig.region}'."
        )


def _redact(canonical: str) -> str:
    # a session token is a credential; everything else in a canonical request is not
    return "\n".join(
        "x-amz-security-token:<redacted>" if line.startswith("x-amz-security-token:") else line
        for line in canonical.split("\n")
    )


def _fail(kind: str, family: str, message: str) -> CommonError:
    code, status, fixed = _FAULTS[kind][family]
    return CommonError(code, fixed or message, status=status)


# -- reading the signature --------------------------------------------------------------


def _signature_of(request: HttpRequest, family: str) -> _Signature:
    authorization = request.header("authorization")
    if authorization:
        return _from_header(authorization, request, family)
    query = dict(_split_query(request.query_string))
    if "X-Amz-Signature" in query:
        return _from_query({k: unquote(v) for k, v in query.items()}, family)
    raise _fail("missing", family, "")


def _from_header(value: str, request: HttpRequest, family: str) -> _Signature:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _fail("incomplete", family, f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, _, val = part.strip().partition("=")
        fields[name] = val
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise _fail("incomplete", family, f"Authorization header requires '{name}' parameter.")
    amz_date = request.header("x-amz-date") or _http_date(request.header("date"))
    return _build(
        fields["Credential"],
        fields["SignedHeaders"],
        fields["Signature"],
        amz_date,
        False,
        None,
        family,
    )


def _from_query(params: dict[str, str], family: str) -> _Signature:
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise _fail("incomplete", family, "X-Amz-Algorithm must be AWS4-HMAC-SHA256.")
    for name in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Date"):
        if not params.get(name):
            raise _fail("incomplete", family, f"Presigned request requires '{name}'.")
    try:
        expires = int(params.get("X-Amz-Expires", "900"))
    except ValueError:
        raise _fail("incomplete", family, "X-Amz-Expires must be a number of seconds.") from None
    return _build(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        True,
        expires,
        family,
    )


def _build(
    credential: str,
    signed_headers: str,
    signature: str,
    amz_date: str,
    presigned: bool,
    expires: int | None,
    family: str,
) -> _Signature:
    # the access key may itself contain '/', so take the scope from the right
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise _fail(
            "incomplete",
            family,
            "Credential should be of the form <key>/<YYYYMMDD>/<region>/<service>/aws4_request.",
        )
    if not amz_date:
        raise _fail("incomplete", family, "Request is missing the X-Amz-Date or Date header.")
    headers = tuple(h.strip().lower() for h in signed_headers.split(";") if h.strip())
    return _Signature(
        parts[0],
        parts[1],
        parts[2],
        parts[3],
        headers,
        signature.strip(),
        amz_date,
        presigned,
        expires,
    )


def _http_date(value: str) -> str:
    """An RFC 7231 ``Date`` header as a SigV4 timestamp, or "" when absent or garbled."""
    if not value:
        return ""
    try:
        return parsedate_to_datetime(value).astimezone(UTC).strftime(_AMZ_DATE)
    except (TypeError, ValueError):
        return ""


def _parse_date(amz_date: str, family: str) -> datetime:
    try:
        return datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise _fail(
            "incomplete", family, f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        ) from None


def _check_clock(signed_at: datetime, sig: _Signature, family: str, now: datetime) -> None:
    def fmt(t: datetime) -> str:
        return t.strftime(_AMZ_DATE)

    if signed_at > now + MAX_SKEW:
        raise _fail(
            "expired",
            family,
            f"Signature not yet current: {sig.amz_date} is still later than "
            f"{fmt(now + MAX_SKEW)} ({fmt(now)} + 15 min.)",
        )
    if sig.presigned and sig.expires is not None:
        if now > signed_at + timedelta(seconds=sig.expires):
            raise _fail(
                "expired",
                family,
                f"Signature expired: {sig.amz_date} is now earlier than "
                f"{fmt(now - timedelta(seconds=sig.expires))} "
                f"({fmt(now)} - {sig.expires} sec.)",
            )
        return
    if signed_at < now - MAX_SKEW:
        raise _fail(
            "expired",
            family,
            f"Signature expired: {sig.amz_date} is now earlier than "
            f"{fmt(now - MAX_SKEW)} ({fmt(now)} - 15 min.)",
        )


# -- canonical request ------------------------------------------------------------------


def _payload_hash(request: HttpRequest, family: str) -> str:
    actual = hashlib.sha256(request.body).hexdigest() if request.body else _EMPTY_SHA256
    declared = request.header("x-amz-content-sha256").strip()
    if not declared:
        return actual
    # a declared hash is what was signed; if it lies about the body, the body was changed
    if len(declared) == 64 and declared.lower() != actual:
        raise _fail(
            "bad_signature",
            family,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    return declared


def _canonical_requests(request: HttpRequest, sig: _Signature, payload_hash: str) -> list[str]:
    query = _canonical_query(request.query_string, sig.presigned)
    headers = "".join(
        f"{name}:{' '.join(request.header(name).split())}\n" for name in sig.signed_headers
    )
    tail = f"{query}\n{headers}\n{';'.join(sig.signed_headers)}\n{payload_hash}"
    method = request.method.upper()
    return [f"{method}\n{uri}\n{tail}" for uri in _canonical_uris(request.path)]


def _canonical_uris(path: str) -> list[str]:
    """Candidate canonical URIs, the one AWS's SDKs build first.

    For every service but S3 the SDKs URI-encode the *already encoded* path once more
    (``%3A`` becomes ``%253A``) after removing dot segments and empty segments. Some
    hand-rolled signers skip the normalisation or the second encoding; accepting those
    as well costs an HMAC each and only widens what a holder of the secret can sign.
    """
    raw = path or "/"
    uris = [quote(_normalize_path(raw), safe="/~"), quote(raw, safe="/~"), raw]
    return list(dict.fromkeys(uris))


def _normalize_path(path: str) -> str:
    """RFC 3986 section 5.2.4 dot-segment removal, also collapsing repeated slashes."""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and kept else ""
    return lead + "/".join(kept) + trail


def _split_query(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in query_string.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            pairs.append((key, value))
    return pairs


def _canonical_query(query_string: str, presigned: bool) -> str:
    # decode then re-encode so that clients who encode more or less than RFC 3986's
    # unreserved set ('-_.~') still meet the canonical form
    pairs = sorted(
        (_encode(unquote(k)), _encode(unquote(v)))
        for k, v in _split_query(query_string)
        if not (presigned and k == "X-Amz-Signature")
    )
    return "&".join(f"{k}={v}" for k, v in pairs)


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


# -- signing --------------------------------------------------------------------------


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _signing_key(secret: str, sig: _Signature) -> bytes:
    key = _sign(f"AWS4{secret}".encode(), sig.scope_date)
    for part in (sig.region, sig.service, "aws4_request"):
        key = _sign(key, part)
    return key


def _string_to_sign(sig: _Signature, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sig.amz_date}\n{sig.scope}\n{digest}"
